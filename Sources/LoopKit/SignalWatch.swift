import CLibUV
import SystemKit

/// Runs a callback on the loop thread whenever a signal arrives at the process.
///
/// Loop-thread only. libuv installs the process-wide handler (from the first watch of a signal
/// until the last one closes, when the default disposition returns) and turns the signal into a
/// loop event, so the callback runs as ordinary loop code, never in signal context. Several
/// deliveries before the loop gets to the event may run the callback once.
/// While open the watch keeps itself alive; `close()` releases it.
public final class SignalWatch: HandleOwner {
    /// The libuv handle; nil once `close()` was called.
    private var handle: UnsafeMutablePointer<uv_signal_t>?
    private var callback: ((Signal) -> Void)?
    /// The signal watched.
    public let signal: Signal

    /// Starts watching `signal`. Throws EINVAL for a signal that cannot be caught (SIGKILL, SIGSTOP).
    /// The corresponding C functions are `uv_signal_init` and `uv_signal_start`.
    public init(loop: Loop, signal: Signal, _ callback: @escaping (Signal) -> Void) throws(SystemError) {
        let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
        handle.initialize(to: uv_signal_t())
        let initResult = uv_signal_init(loop.handle, handle)
        if initResult != 0 {
            handle.deallocate()  // not initialised: libuv does not know it
            throw Handles.error("uv_signal_init", signal.name, code: initResult)
        }
        self.signal = signal
        self.callback = callback
        self.handle = handle
        Handles.attach(handle, to: self)
        let startResult = uv_signal_start(handle, { handle, number in
            Handles.owner(of: handle, as: SignalWatch.self).deliver(Signal(rawValue: number))
        }, signal.rawValue)
        if startResult != 0 {
            close()
            throw Handles.error("uv_signal_start", signal.name, code: startResult)
        }
    }

    /// Stops watching and releases the watch and its callback. Idempotent.
    /// The corresponding C function is `uv_close`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        callback = nil
        Handles.close(handle)
    }

    private func deliver(_ signal: Signal) {
        let callback = self.callback
        callback?(signal)
    }

    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        close()
    }
}
