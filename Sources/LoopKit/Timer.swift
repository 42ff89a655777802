import CLibUV

/// A one-shot or repeating timer on a loop (restart backoff, grace periods, deadlines).
///
/// Loop-thread only. Times are whole milliseconds of the loop's clock (`Loop.now`), rounded up so a
/// timer never fires early. While open the timer keeps itself alive; `close()` releases it.
/// Name clash: Foundation also has a `Timer`; write `LoopKit.Timer` where both are imported.
public final class Timer: HandleOwner {
    /// The libuv handle; nil once `close()` was called (its memory is freed by the close callback).
    private var handle: UnsafeMutablePointer<uv_timer_t>?
    private var callback: (() -> Void)?

    /// Creates a stopped timer on `loop`. The corresponding C function is `uv_timer_init`.
    public init(loop: Loop) {
        let handle = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        handle.initialize(to: uv_timer_t())
        let result = uv_timer_init(loop.handle, handle)
        precondition(result == 0, "uv_timer_init cannot fail: \(result)")
        self.handle = handle
        Handles.attach(handle, to: self)
    }

    /// (Re)starts the timer: `callback` runs once after `after`, then every `repeating` if given
    /// (a repeat shorter than 1 ms counts as 1 ms). Starting a running timer replaces its schedule
    /// and callback. Does nothing once closed. The corresponding C function is `uv_timer_start`.
    public func start(after: Duration, repeating: Duration? = nil, _ callback: @escaping () -> Void) {
        guard let handle else { return }
        self.callback = callback
        let repeatMilliseconds = repeating.map { max(1, $0.roundedUpMilliseconds) } ?? 0
        let result = uv_timer_start(handle, { timer in
            Handles.owner(of: timer, as: Timer.self).fire()
        }, after.roundedUpMilliseconds, repeatMilliseconds)
        precondition(result == 0, "uv_timer_start: \(Handles.describe(code: result))")
    }

    /// Stops the timer; `start` may start it again. The corresponding C function is `uv_timer_stop`.
    public func stop() {
        guard let handle else { return }
        uv_timer_stop(handle)
    }

    /// Whether the timer is started and has not fired its last time.
    public var isActive: Bool {
        guard let handle else { return false }
        return uv_is_active(Handles.base(handle)) != 0
    }

    /// Stops the timer for good and releases it and its callback. Idempotent.
    /// The corresponding C function is `uv_close`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        callback = nil
        Handles.close(handle)
    }

    private func fire() {
        // A local copy keeps the closure alive even if it closes this timer while running.
        let callback = self.callback
        callback?()
    }

    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        close()
    }
}
