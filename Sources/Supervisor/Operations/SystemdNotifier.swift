import Glibc
import Logging
import SystemKit

/// Where `NOTIFY_SOCKET` points: a socket file, or a name in Linux's abstract socket namespace
/// (written `@name`; the `@` stands for the leading NUL byte of the address).
public enum SystemdNotifyAddress: Hashable, Sendable, CustomStringConvertible {
    /// An absolute path to a datagram socket.
    case path(String)
    /// An abstract-namespace name, without the `@`.
    case abstract(String)

    /// The bytes of `sun_path` this address takes: the path and its NUL, or a NUL and the name
    /// (an abstract name is not NUL-terminated: its length is in the address length).
    var socketPathBytes: [UInt8] {
        switch self {
        case .path(let path): Array(path.utf8) + [0]
        case .abstract(let name): [0] + Array(name.utf8)
        }
    }

    public var description: String {
        switch self {
        case .path(let path): path
        case .abstract(let name): "@" + name
        }
    }
}

/// What the service manager asked of this process, read from its environment once at start-up.
public struct SystemdEnvironment: Hashable, Sendable {
    /// The variables systemd sets for a service's main process. Workers must not see them: they
    /// are not the service, and would otherwise answer for it.
    public static let variables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    /// Where notifications go.
    public var address: SystemdNotifyAddress
    /// How often to send `WATCHDOG=1` (half of `WATCHDOG_USEC`); nil when there is no watchdog,
    /// or it is meant for another process (`WATCHDOG_PID`).
    public var watchdogInterval: Duration?

    /// A `NOTIFY_SOCKET` this client cannot use.
    public enum Problem: Error, Hashable, Sendable, CustomStringConvertible {
        /// Neither an absolute path nor `@name` (e.g. a relative path, or a `vsock:` address).
        case unsupportedAddress(String)
        /// Longer than a Unix socket address holds (107 bytes).
        case addressTooLong(String)

        public var description: String {
            switch self {
            case .unsupportedAddress(let value): "NOTIFY_SOCKET=\(value) is neither an absolute path nor @name"
            case .addressTooLong(let value): "NOTIFY_SOCKET=\(value) is longer than a Unix socket address (107 bytes)"
            }
        }
    }

    public init(address: SystemdNotifyAddress, watchdogInterval: Duration? = nil) {
        self.address = address
        self.watchdogInterval = watchdogInterval
    }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` as libsystemd's `sd_notify` and
    /// `sd_watchdog_enabled` do. Nil when `NOTIFY_SOCKET` is unset or empty (not run by systemd).
    /// A `WATCHDOG_USEC` that is not a positive number, or a `WATCHDOG_PID` other than `pid`,
    /// means no watchdog.
    public static func parse(_ environment: [String: String], pid: Int32) throws(Problem) -> SystemdEnvironment? {
        guard let value = environment["NOTIFY_SOCKET"], !value.isEmpty else { return nil }
        let address: SystemdNotifyAddress
        if value.hasPrefix("/") {
            address = .path(value)
        } else if value.hasPrefix("@"), value.utf8.count > 1 {
            address = .abstract(String(value.dropFirst()))
        } else {
            throw .unsupportedAddress(value)
        }
        // sun_path is 108 bytes: a path needs its NUL, an abstract name its leading NUL.
        guard address.socketPathBytes.count <= 108 else { throw .addressTooLong(value) }
        var interval: Duration? = nil
        if let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
           environment["WATCHDOG_PID"].map({ Int32($0) == pid }) ?? true {
            interval = .microseconds(microseconds / 2)
        }
        return SystemdEnvironment(address: address, watchdogInterval: interval)
    }
}

/// A client of systemd's notification socket (`sd_notify(3)`), without libsystemd: one datagram
/// per message, never blocking, never fatal.
///
/// Each message is sent with its address (`sendto`), as libsystemd does, so a service manager that
/// re-created its socket (daemon-reexec) still gets the next one.
final class SystemdNotifier {
    let address: SystemdNotifyAddress
    private let socket: FileDescriptor
    private let storage: sockaddr_un
    private let storageLength: socklen_t
    private let logger: Logger
    private var failureLogged = false
    private var closed = false

    /// Opens an unbound `AF_UNIX` datagram socket, close-on-exec so no worker inherits it.
    /// The corresponding C function is `socket`.
    init(address: SystemdNotifyAddress, logger: Logger) throws(SystemError) {
        self.address = address
        self.logger = logger
        let bytes = address.socketPathBytes
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        self.storage = storage
        storageLength = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        socket = FileDescriptor(rawValue: try valueOrErrno("socket", "AF_UNIX, SOCK_DGRAM") {
            Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
    }

    /// Sends `assignments` (`READY=1`, `STATUS=…`) as one message, one per line. Never blocks
    /// (a full queue drops the message) and never raises SIGPIPE. Returns whether it was sent; the
    /// first failure is logged as a warning, later ones only at `debug`.
    /// The corresponding C function is `sendto`.
    @discardableResult
    func send(_ assignments: [String]) -> Bool {
        guard !closed else { return false }
        let message = Array(assignments.joined(separator: "\n").utf8)
        let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
        do {
            try valueOrErrno("sendto", "\(address)") { sendOnce(message, flags: flags) }
            return true
        } catch {
            if failureLogged {
                logger.debug("cannot notify systemd: \(error)")
            } else {
                failureLogged = true
                logger.warning("cannot notify systemd: \(error); the run goes on, further failures are logged at debug")
            }
            return false
        }
    }

    private func sendOnce(_ message: [UInt8], flags: Int32) -> Int {
        withUnsafePointer(to: storage) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    sendto(socket.rawValue, bytes.baseAddress, bytes.count, flags, socketAddress, storageLength)
                }
            }
        }
    }

    /// Closes the socket. Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        socket.close()
    }

    deinit { close() }
}
