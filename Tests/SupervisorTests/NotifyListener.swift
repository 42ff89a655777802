import Foundation
import Glibc

/// A stand-in for systemd's notification socket: an `AF_UNIX` datagram socket bound to a path or
/// to an abstract name, read by a thread of its own so the sender's queue (10 datagrams by
/// default, `net.unix.max_dgram_qlen`) never fills while a test waits for something else.
final class NotifyListener: @unchecked Sendable {
    /// What `NOTIFY_SOCKET` must say to reach this listener (`/path` or `@name`).
    let address: String
    private let inbox: Inbox

    /// Binds a socket file at `path` (e.g. in a `Scratch` directory).
    convenience init(path: String) throws {
        try self.init(address: path, socketPath: Array(path.utf8) + [0])
    }

    /// Binds `name` in the abstract namespace; `NOTIFY_SOCKET` is then `@name`.
    convenience init(abstractName name: String) throws {
        try self.init(address: "@" + name, socketPath: [0] + Array(name.utf8))
    }

    private init(address: String, socketPath: [UInt8]) throws {
        self.address = address
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: socketPath) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + socketPath.count)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(socket)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        // recv wakes up every 50 ms to see whether the listener is being closed.
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let inbox = Inbox(socket: socket)
        self.inbox = inbox
        Thread.detachNewThread { inbox.receive() }
    }

    /// Stops the reading thread and closes the socket.
    deinit { inbox.close() }

    /// Every datagram so far, each split into its assignments (`READY=1`, `STATUS=…`).
    var messages: [[String]] { inbox.messages }

    /// Every assignment so far, in order.
    var assignments: [String] { messages.flatMap { $0 } }

    /// Waits (bounded) until `predicate` holds for the assignments received; true if it did.
    func await(limit: Double = 30, _ predicate: ([String]) -> Bool) -> Bool {
        var waited = 0.0
        while waited < limit {
            if predicate(assignments) { return true }
            usleep(20_000)
            waited += 0.02
        }
        return predicate(assignments)
    }
}

/// The socket and what its thread received (the thread holds this, not the listener, so the
/// listener's deinit can stop it).
private final class Inbox: @unchecked Sendable {
    let socket: CInt
    private let lock = NSLock()
    private var datagrams: [[String]] = []
    private var closing = false
    private let done = DispatchSemaphore(value: 0)

    init(socket: CInt) { self.socket = socket }

    var messages: [[String]] { lock.withLock { datagrams } }

    func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !lock.withLock({ closing }) {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let text = String(decoding: buffer.prefix(count), as: UTF8.self)
            let parts = text.split(separator: "\n").map(String.init)
            lock.withLock { datagrams.append(parts) }
        }
        done.signal()
    }

    func close() {
        lock.withLock { closing = true }
        done.wait()
        Glibc.close(socket)
    }
}
