import Glibc

/// The file calls a log writer needs: append-only opening, whole writes, truncation, renames.
extension FileDescriptor {
    /// Opens (creating it if missing, with `permissions` minus the umask) `path` for appending,
    /// close-on-exec, so a child never inherits it. The caller owns the descriptor.
    /// The corresponding C function is `open(O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC)`.
    public static func openForAppending(_ path: String, permissions: UInt32 = 0o644) throws(SystemError) -> FileDescriptor {
        let raw = try valueOrErrno("open", path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode_t(permissions)) }
        return FileDescriptor(rawValue: raw)
    }

    /// Writes every byte, continuing after short writes and EINTR. On an error the bytes before
    /// it may have been written. The corresponding C function is `write`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, subject: @autoclosure () -> String = "") throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try valueOrErrno("write", subject()) {
                write(rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            }
            precondition(written > 0, "write(2) returned 0 for a non-empty buffer")
            offset += written
        }
    }

    /// Cuts the file to `length` bytes. The corresponding C function is `ftruncate`.
    public func truncate(to length: Int = 0, subject: @autoclosure () -> String = "") throws(SystemError) {
        try valueOrErrno("ftruncate", subject()) { ftruncate(rawValue, off_t(length)) }
    }
}

/// Path operations, each one system call.
public enum FileSystem {
    /// Renames `source` to `target`, replacing `target` atomically if it exists.
    /// The corresponding C function is `rename`.
    public static func rename(_ source: String, to target: String) throws(SystemError) {
        try valueOrErrno("rename", "\(source), \(target)") { Glibc.rename(source, target) }
    }

    /// Removes the name `path`. The corresponding C function is `unlink`.
    public static func unlink(_ path: String) throws(SystemError) {
        try valueOrErrno("unlink", path) { Glibc.unlink(path) }
    }
}
