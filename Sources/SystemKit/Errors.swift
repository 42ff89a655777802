import Glibc

/// An `errno` value with readable names for the ones this project branches on.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw C value.
    public let rawValue: CInt

    /// Wraps a raw C `errno` value.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let noSuchFile = Errno(rawValue: ENOENT)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let invalidArgument = Errno(rawValue: EINVAL)

    /// The C library's text for the value, e.g. "No space left on device".
    public var description: String { String(cString: strerror(rawValue)) }
}

/// A failed system call: which call, on what, and the `errno` it returned.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C function that failed, e.g. `memfd_create`.
    public let call: String
    /// What the call was acting on (a name or descriptor), empty when there is nothing useful.
    public let subject: String
    /// The error the call returned.
    public let errno: Errno

    /// Records a failure of `call` on `subject`.
    public init(_ call: String, _ subject: String = "", errno: Errno = .current) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        subject.isEmpty ? "\(call): \(errno)" : "\(call)(\(subject)): \(errno)"
    }
}

/// Runs a call that returns -1 and sets errno on failure, retrying once on EINTR
/// (and again while it keeps being interrupted), and throws a `SystemError` naming it.
@discardableResult
public func valueOrErrno<T: FixedWidthInteger>(
    _ call: String, _ subject: @autoclosure () -> String = "", _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Errno.current
        if error == .interrupted { continue }
        throw SystemError(call, subject(), errno: error)
    }
}
