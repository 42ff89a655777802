import CLibUV
import SystemKit

/// Runs a callback on the loop thread when a descriptor becomes readable or writable (level
/// triggered: it runs again on every iteration while the condition holds and the watch is started).
///
/// Loop-thread only. The watch does not own the descriptor: close the watch before (or right after)
/// closing the descriptor, never later, and do not watch one descriptor twice (EEXIST).
/// libuv sets O_NONBLOCK on the descriptor; for a descriptor shared with a child (an eventfd), that
/// flag lives in the shared open file description, so do not rely on it against a hostile child.
/// While open the watch keeps itself alive; `close()` releases it.
public final class FDWatch: HandleOwner {
    /// Conditions to watch for and to report.
    public struct Events: OptionSet, Hashable, Sendable {
        /// The bits, libuv's `UV_READABLE` and friends.
        public let rawValue: Int32
        /// Wraps libuv's event bits.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// Reading would not block (data, EOF or an error is pending).
        public static let readable = Events(rawValue: Int32(UV_READABLE.rawValue))
        /// Writing would not block.
        public static let writable = Events(rawValue: Int32(UV_WRITABLE.rawValue))
        /// The peer hung up (EPOLLRDHUP); may be reported along with `readable`.
        public static let disconnect = Events(rawValue: Int32(UV_DISCONNECT.rawValue))
    }

    /// The libuv handle; nil once `close()` was called.
    private var handle: UnsafeMutablePointer<uv_poll_t>?
    private var callback: ((Result<Events, SystemError>) -> Void)?
    /// The descriptor watched (not owned).
    public let descriptor: FileDescriptor

    /// Starts watching `descriptor` for `events`. The callback gets the events that are ready, or
    /// the error libuv saw polling the descriptor (the watch then stops; `start` may retry).
    /// The corresponding C functions are `uv_poll_init` and `uv_poll_start`.
    public init(
        loop: Loop, descriptor: FileDescriptor, events: Events,
        _ callback: @escaping (Result<Events, SystemError>) -> Void
    ) throws(SystemError) {
        let handle = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        handle.initialize(to: uv_poll_t())
        let initResult = uv_poll_init(loop.handle, handle, descriptor.rawValue)
        if initResult != 0 {
            handle.deallocate()  // not initialised: libuv does not know it
            throw Handles.error("uv_poll_init", "\(descriptor.rawValue)", code: initResult)
        }
        self.descriptor = descriptor
        self.callback = callback
        self.handle = handle
        Handles.attach(handle, to: self)
        do {
            try start(events)
        } catch {
            close()
            throw error
        }
    }

    /// (Re)starts watching for `events`, replacing the previous set. Does nothing once closed.
    /// The corresponding C function is `uv_poll_start`.
    public func start(_ events: Events) throws(SystemError) {
        guard let handle else { return }
        let result = uv_poll_start(handle, events.rawValue) { handle, status, events in
            Handles.owner(of: handle, as: FDWatch.self).deliver(status: status, events: events)
        }
        if result != 0 {
            throw Handles.error("uv_poll_start", "\(descriptor.rawValue)", code: result)
        }
    }

    /// Stops watching; `start` may start again. The corresponding C function is `uv_poll_stop`.
    public func stop() {
        guard let handle else { return }
        uv_poll_stop(handle)
    }

    /// Stops watching for good and releases the watch and its callback. Idempotent.
    /// The corresponding C function is `uv_close`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        callback = nil
        Handles.close(handle)
    }

    private func deliver(status: Int32, events: Int32) {
        let callback = self.callback
        if status < 0 {
            callback?(.failure(Handles.error("uv_poll", "\(descriptor.rawValue)", code: status)))
        } else {
            callback?(.success(Events(rawValue: events)))
        }
    }

    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        close()
    }
}
