import CShim
import ControlProtocol
import Glibc
import LoopKit
import Logging
import SystemKit

/// The control socket: a Unix stream socket (mode 0600) served by the loop, one JSON request per
/// line, one response per request (docs/CONTROL.md). Requests are handled on the loop thread and
/// never block it; a malformed request gets an error response, never a crash.
final class ControlServer {
    /// The socket's path (removed again by `close()`).
    let path: String
    private var listener: SocketListener?
    private var connections: [ObjectIdentifier: LineConnection] = [:]
    /// What to undo when a connection closes (a `logs --follow` subscription).
    private var closeActions: [ObjectIdentifier: [() -> Void]] = [:]
    private let loop: Loop
    private let logger: Logger
    private let handler: (ControlRequest, LineConnection) -> ControlResponse?

    /// Binds `path`, refusing when a live supervisor answers there and removing a stale socket
    /// left by a dead one. `handler` answers each request (nil: it answered by other means).
    init(loop: Loop, path: String, logger: Logger,
         handler: @escaping (ControlRequest, LineConnection) -> ControlResponse?) throws(ControlSetupError) {
        self.loop = loop
        self.path = path
        self.logger = logger
        self.handler = handler
        try Self.prepare(path)
        let fd = cshim_unix_listen(path, 64)
        guard fd >= 0 else {
            let error = Errno.current
            throw .unavailable("cannot create the control socket \(path): \(error)\(error == Errno(rawValue: ENAMETOOLONG) ? " (longer than 107 bytes; choose one with --control)" : "")")
        }
        do {
            listener = try SocketListener(loop: loop, descriptor: FileDescriptor(rawValue: fd)) { [unowned self] connection in
                accept(connection)
            }
        } catch {
            FileDescriptor(rawValue: fd).close()
            unlink(path)
            throw .unavailable("cannot serve the control socket \(path): \(error)")
        }
        logger.info("control socket ready", metadata: ["path": "\(path)"])
    }

    /// Makes the socket's directory (0700, like systemd's runtime directories) and clears a stale
    /// socket; refuses a live one or a path that is not a socket.
    private static func prepare(_ path: String) throws(ControlSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty, access(directory, F_OK) != 0, mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw .unavailable("cannot create the control socket's directory \(directory): \(Errno.current)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw .unavailable("control socket \(path) exists and is not a socket; remove it or choose another with --control")
        }
        let probe = cshim_unix_connect(path)
        if probe >= 0 {
            Glibc.close(probe)
            throw .owned("control socket \(path) belongs to a running supervisor; stop it first (`ringmaster shutdown --control \(path)`) or choose another socket with --control")
        }
        // Nobody listens: a supervisor that died without cleaning up.
        unlink(path)
    }

    private func accept(_ descriptor: FileDescriptor) {
        do {
            let connection = try LineConnection(loop: loop, descriptor: descriptor, maxLineLength: ControlProtocol.maxLineLength,
                                                onInput: { [unowned self] connection, input in receive(input, on: connection) },
                                                onClose: { [unowned self] connection in
                                                    connections[ObjectIdentifier(connection)] = nil
                                                    for action in closeActions.removeValue(forKey: ObjectIdentifier(connection)) ?? [] { action() }
                                                })
            connections[ObjectIdentifier(connection)] = connection
        } catch {
            descriptor.close()
            logger.warning("control socket: cannot serve a connection: \(error)")
        }
    }

    private func receive(_ input: LineConnection.Input, on connection: LineConnection) {
        switch input {
        case .tooLong:
            connection.send(ControlProtocol.line(ControlResponse.failure(nil, "request longer than \(ControlProtocol.maxLineLength) bytes")))
            connection.closeWhenFlushed()
        case .line(let bytes):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            let request: ControlRequest
            do {
                request = try ControlProtocol.decode(ControlRequest.self, from: bytes)
            } catch {
                connection.send(ControlProtocol.line(ControlResponse.failure(nil, "malformed request: \(Self.describe(error))")))
                return
            }
            guard request.v == ControlProtocol.version else {
                connection.send(ControlProtocol.line(ControlResponse.failure(request.id, "protocol version \(request.v) is not supported (this supervisor speaks \(ControlProtocol.version))")))
                return
            }
            if let response = handler(request, connection) { connection.send(ControlProtocol.line(response)) }
        }
    }

    /// Runs `action` when `connection` closes (or the server does).
    func onClose(of connection: LineConnection, _ action: @escaping () -> Void) {
        closeActions[ObjectIdentifier(connection), default: []].append(action)
    }

    /// Stops serving: closes the listener and every connection, removes the socket file.
    func close() {
        guard let listener else { return }
        listener.close()
        self.listener = nil
        for connection in Array(connections.values) { connection.close() }
        connections.removeAll()
        closeActions.removeAll()
        unlink(path)
    }

    /// A decoding error in one line, without Foundation's debug dump.
    private static func describe(_ error: Error) -> String {
        let text = "\(error)"
        if let range = text.range(of: "debugDescription: \"") {
            return String(text[range.upperBound...].prefix { $0 != "\"" })
        }
        return "not a JSON request object"
    }
}

/// Why the control socket could not be served.
enum ControlSetupError: Error, CustomStringConvertible {
    /// A live supervisor answers on the path: this one must not run beside it.
    case owned(String)
    /// The socket could not be made (directory not writable, path too long, ...).
    case unavailable(String)

    var description: String {
        switch self {
        case .owned(let message), .unavailable(let message): message
        }
    }
}
