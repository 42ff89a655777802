import CLibUV
import SystemKit

// The one pattern every libuv handle in LoopKit follows (after libuv's own src/unix/process.c):
//
//  1. the owner allocates the handle with `UnsafeMutablePointer<uv_xxx_t>.allocate` and inits it;
//  2. `Handles.attach` points `handle->data` at the owner and retains the owner: while the handle
//     is open its owner stays alive, so a C callback can always recover a live owner;
//  3. `Handles.close` calls `uv_close` with `Handles.closeCallback`, which tells the owner, releases
//     the retain taken in 2, and frees the handle's memory. Memory is freed nowhere else.
//
// A handle whose `data` is nil (a handle libuv initialised but that never got an owner, such as the
// pipes of a failed `uv_spawn`) is closed the same way; the close callback then only frees it.

/// An object that owns one or more libuv handles. Loop-thread only.
protocol HandleOwner: AnyObject {
    /// Closes `handle` (one of this owner's open handles) because its loop is being torn down.
    /// The owner must call `Handles.close(handle)` and forget the handle.
    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>)
}

/// The shared plumbing for handle ownership, closing and error conversion.
enum Handles {
    /// Views any libuv handle type as the `uv_handle_t` it starts with.
    static func base<T>(_ handle: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    }

    /// Views any libuv handle type as a stream (only for `uv_pipe_t`, `uv_tcp_t`, `uv_tty_t`).
    static func stream(_ handle: UnsafeMutablePointer<uv_pipe_t>) -> UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    /// Points `handle->data` at `owner` and retains the owner until the handle's close callback.
    static func attach<T>(_ handle: UnsafeMutablePointer<T>, to owner: some HandleOwner) {
        let base = base(handle)
        precondition(base.pointee.data == nil, "libuv handle attached twice")
        base.pointee.data = Unmanaged<AnyObject>.passRetained(owner as AnyObject).toOpaque()
    }

    /// The owner of a handle that `attach` gave one, without changing its retain count.
    static func owner<Owner: AnyObject, T>(of handle: UnsafeMutablePointer<T>?, as type: Owner.Type) -> Owner {
        guard let handle, let data = base(handle).pointee.data else {
            preconditionFailure("libuv callback for a handle without an owner")
        }
        return unsafeDowncast(Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue(), to: type)
    }

    /// Starts closing `handle`; its memory is freed (and its owner released) in the close callback,
    /// which libuv runs on a later loop iteration. Closing a handle that is already closing is a no-op.
    static func close<T>(_ handle: UnsafeMutablePointer<T>) {
        let base = base(handle)
        if uv_is_closing(base) != 0 { return }
        uv_close(base, closeCallback)
    }

    /// Frees every handle, attached or not: the only place handle memory is released.
    private static var closeCallback: uv_close_cb {
        { handle in
            guard let handle else { return }
            if let data = handle.pointee.data {
                handle.pointee.data = nil
                Unmanaged<AnyObject>.fromOpaque(data).release()
            }
            UnsafeMutableRawPointer(handle).deallocate()
        }
    }

    /// Asks the owner of every open handle of `loop` to close it (loop teardown).
    static func closeAll(in loop: UnsafeMutablePointer<uv_loop_t>) {
        uv_walk(loop, { handle, _ in
            guard let handle, uv_is_closing(handle) == 0 else { return }
            guard let data = handle.pointee.data else {
                uv_close(handle, Handles.closeCallback)
                return
            }
            let object = Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue()
            guard let owner = object as? HandleOwner else {
                preconditionFailure("libuv handle owned by something outside LoopKit")
            }
            owner.closeForTeardown(handle)
        }, nil)
    }

    /// A `SystemError` for a libuv call that returned the negative error code `code`.
    /// On Unix libuv's codes are negated `errno` values, so they map onto `Errno` directly.
    static func error(_ call: String, _ subject: String = "", code: Int32) -> SystemError {
        SystemError(call, subject, errno: Errno(rawValue: -code))
    }

    /// libuv's short name and message for an error code: "no such file or directory (ENOENT)".
    static func describe(code: Int32) -> String {
        "\(String(cString: uv_strerror(code))) (\(String(cString: uv_err_name(code))))"
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a timer never fires early; negative durations are zero.
    var roundedUpMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let wholeMilliseconds = UInt64(seconds).multipliedReportingOverflow(by: 1000)
        if wholeMilliseconds.overflow { return .max }
        let fraction = UInt64(attoseconds)
        let perMillisecond: UInt64 = 1_000_000_000_000_000
        let extra = fraction / perMillisecond + (fraction % perMillisecond == 0 ? 0 : 1)
        let total = wholeMilliseconds.partialValue.addingReportingOverflow(extra)
        return total.overflow ? .max : total.partialValue
    }
}
