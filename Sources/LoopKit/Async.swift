import CLibUV
import Synchronization
import SystemKit

/// Wakes the loop from any thread and runs a callback on the loop thread.
///
/// `send()` is the only LoopKit call that is safe from any thread; everything else, `close()`
/// included, is loop-thread only. Sends coalesce: several sends before the loop gets to the event
/// run the callback once, so the callback must drain whatever queue the senders filled.
/// A `send()` racing with (or after) `close()` or the loop's teardown is a harmless no-op.
///
/// `@unchecked Sendable`: `handle` is immutable and its memory lives until the close callback,
/// which only runs after `close()` cleared `isOpen` under the lock that senders hold; the callback
/// is only read and called on the loop thread.
public final class Async: HandleOwner, @unchecked Sendable {
    /// The libuv handle; freed by the close callback, after `isOpen` went false.
    private let handle: UnsafeMutablePointer<uv_async_t>
    /// True until `close()` starts. Senders hold this lock across `uv_async_send`, so the handle
    /// cannot be closed (let alone freed) under them.
    private let isOpen = Mutex(true)
    private var callback: (() -> Void)?

    /// Creates the wake-up handle on `loop`. The corresponding C function is `uv_async_init`.
    public init(loop: Loop, _ callback: @escaping () -> Void) throws(SystemError) {
        let handle = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        handle.initialize(to: uv_async_t())
        let result = uv_async_init(loop.handle, handle) { handle in
            Handles.owner(of: handle, as: Async.self).fire()
        }
        if result != 0 {
            handle.deallocate()  // not initialised: libuv does not know it
            throw Handles.error("uv_async_init", code: result)
        }
        self.handle = handle
        self.callback = callback
        Handles.attach(handle, to: self)
    }

    /// Asks the loop to run the callback soon. Safe from any thread; never blocks beyond a short lock.
    /// The corresponding C function is `uv_async_send`.
    public func send() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            let result = uv_async_send(handle)
            precondition(result == 0, "uv_async_send: \(Handles.describe(code: result))")
        }
    }

    /// Stops the wake-ups for good and releases the handle and its callback. Idempotent.
    /// Loop-thread only. The corresponding C function is `uv_close`.
    public func close() {
        let wasOpen = isOpen.withLock { isOpen in
            defer { isOpen = false }
            return isOpen
        }
        guard wasOpen else { return }
        callback = nil
        Handles.close(handle)
    }

    private func fire() {
        let callback = self.callback
        callback?()
    }

    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        close()
    }
}
