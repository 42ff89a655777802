import CLibUV
import SystemKit

/// A libuv event loop: the thread that runs it owns every handle created on it.
///
/// All LoopKit objects made on a loop (`Timer`, `SignalWatch`, `FDWatch`, `Async`, `ChildProcess`)
/// must be used only from the thread that runs the loop; `Async.send()` is the one exception and is
/// how other threads wake the loop.
///
/// Handle lifetime: an open handle keeps its owning object alive (libuv holds a reference to it), so
/// dropping the last reference to a `Timer` does not stop it: call `close()`. The objects do not keep
/// the loop alive; when the `Loop` is deinitialised it closes every handle still open (their owners
/// then behave as closed: their methods do nothing and their callbacks are not called again), runs
/// the loop until every close callback has run, and closes the libuv loop.
public final class Loop {
    /// The libuv loop. Freed in `deinit`, after `uv_loop_close`.
    let handle: UnsafeMutablePointer<uv_loop_t>

    /// Creates a loop. The corresponding C function is `uv_loop_init`.
    public init() throws(SystemError) {
        let handle = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        let result = uv_loop_init(handle)
        if result != 0 {
            handle.deallocate()
            throw Handles.error("uv_loop_init", code: result)
        }
        self.handle = handle
    }

    /// Runs until no handle is active (nothing left to wait for) or `stop()` is called.
    /// Not reentrant: never call it (or `runOnce`) from a callback of this loop.
    /// The corresponding C function is `uv_run(UV_RUN_DEFAULT)`.
    public func run() {
        uv_run(handle, UV_RUN_DEFAULT)
    }

    /// Runs one iteration: with `nowait`, only what is ready now; otherwise blocks until at least one
    /// event has been handled (or nothing is active). Returns whether handles are still active, so
    /// `while loop.runOnce(nowait: false) {}` runs to completion.
    /// The corresponding C function is `uv_run(UV_RUN_NOWAIT / UV_RUN_ONCE)`.
    @discardableResult
    public func runOnce(nowait: Bool) -> Bool {
        uv_run(handle, nowait ? UV_RUN_NOWAIT : UV_RUN_ONCE) != 0
    }

    /// Makes `run()` return at the end of the current iteration. Meant to be called from a callback
    /// on the loop thread; other threads should `Async.send()` and stop from the callback.
    /// The corresponding C function is `uv_stop`.
    public func stop() {
        uv_stop(handle)
    }

    /// The loop's cached time in milliseconds (from an arbitrary start), refreshed at the start of
    /// each iteration. The corresponding C function is `uv_now`.
    public var now: UInt64 {
        uv_now(handle)
    }

    /// Refreshes the cached time, for code that ran long inside a callback.
    /// The corresponding C function is `uv_update_time`.
    public func updateTime() {
        uv_update_time(handle)
    }

    /// Closes every open handle, runs the loop until all close callbacks ran, then closes the loop.
    /// A process whose `ChildProcess` is closed here is not reaped by this loop any more.
    deinit {
        Handles.closeAll(in: handle)
        while uv_run(handle, UV_RUN_DEFAULT) != 0 {
            // Every handle is closing: this returns once their close callbacks ran.
        }
        let result = uv_loop_close(handle)
        precondition(result == 0, "uv_loop_close: \(Handles.describe(code: result))")
        handle.deallocate()
    }
}
