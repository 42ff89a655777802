import Glibc

/// A file descriptor number, so raw `CInt`s do not travel through signatures.
///
/// A `FileDescriptor` does not own the descriptor; the type that created it closes it.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The descriptor number.
    public let rawValue: CInt

    /// Wraps a descriptor number.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// Closes the descriptor. EBADF means a bug in descriptor ownership and traps.
    /// The corresponding C function is `close`.
    public func close() {
        if Glibc.close(rawValue) == -1 {
            precondition(Errno.current != .badDescriptor, "close of a descriptor that is not open: \(rawValue)")
        }
    }

    /// Whether the descriptor closes on exec. The corresponding C function is `fcntl(F_GETFD)`.
    public func closesOnExec() throws(SystemError) -> Bool {
        let flags = try valueOrErrno("fcntl(F_GETFD)", "\(rawValue)") { fcntl(rawValue, F_GETFD) }
        return flags & FD_CLOEXEC != 0
    }

    /// Sets or clears close-on-exec. The corresponding C function is `fcntl(F_SETFD)`.
    public func setClosesOnExec(_ on: Bool) throws(SystemError) {
        let flags = try valueOrErrno("fcntl(F_GETFD)", "\(rawValue)") { fcntl(rawValue, F_GETFD) }
        let updated = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC
        try valueOrErrno("fcntl(F_SETFD)", "\(rawValue)") { fcntl(rawValue, F_SETFD, updated) }
    }

    /// The size of the file behind the descriptor. The corresponding C function is `fstat`.
    public func size() throws(SystemError) -> Int {
        var st = stat()
        try valueOrErrno("fstat", "\(rawValue)") { fstat(rawValue, &st) }
        return Int(st.st_size)
    }

    /// The permission bits of the file behind the descriptor (e.g. 0o600).
    public func permissions() throws(SystemError) -> UInt32 {
        var st = stat()
        try valueOrErrno("fstat", "\(rawValue)") { fstat(rawValue, &st) }
        return UInt32(st.st_mode) & 0o7777
    }

    public var description: String { "fd \(rawValue)" }
}
