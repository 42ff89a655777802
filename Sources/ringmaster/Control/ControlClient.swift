import ArgumentParser
import CShim
import ControlProtocol
import Glibc
import SystemKit

/// Which supervisor a verb talks to: `--control PATH`, or the socket a manifest's supervisor uses
/// by default (`-m FILE`), or `RINGMASTER_CONTROL`, or the only socket in
/// `$XDG_RUNTIME_DIR/ringmaster/`.
struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "The supervisor's control socket.")
    var control: String?

    @Option(name: [.customShort("m"), .long], help: "The manifest the supervisor runs (finds its default control socket).")
    var manifest: String?

    /// The socket path, or (exit 2) a message saying how to name one.
    func socketPath() throws -> String {
        let environment = ProcessEnvironment.current()
        if let control { return control }
        if let manifest { return ControlPath.forManifest(manifest, environment: environment) }
        if let named = environment["RINGMASTER_CONTROL"], !named.isEmpty { return named }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            let directory = runtime + "/ringmaster"
            let sockets = Self.entries(of: directory).filter { $0.hasSuffix(".sock") }
            if sockets.count == 1 { return directory + "/" + sockets[0] }
            if sockets.count > 1 {
                Terminal.error("several supervisors run (\(sockets.joined(separator: ", ")) in \(directory)): name one with --control PATH or -m MANIFEST")
                throw ExitCode(2)
            }
        }
        Terminal.error("which supervisor? name it with -m MANIFEST or --control PATH (or set RINGMASTER_CONTROL)")
        throw ExitCode(2)
    }

    private static func entries(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// A blocking connection to a supervisor's control socket.
final class ControlClient {
    let path: String
    private let fd: CInt
    private var buffer: [UInt8] = []
    private var nextID = 1
    /// When set, a lost connection is not printed but kept in `lastError` (for `top`, which must
    /// restore the terminal before saying anything).
    var quiet = false
    /// The last connection error (after connecting), printed or not.
    private(set) var lastError: String?

    /// Connects, or exits 3 with a message naming the socket.
    init(path: String) throws {
        self.path = path
        fd = cshim_unix_connect(path)
        guard fd >= 0 else {
            let error = Errno.current
            let hint = error == Errno(rawValue: ENOENT) || error == Errno(rawValue: ECONNREFUSED)
                ? ": no supervisor is running there" : ""
            Terminal.error("cannot reach the supervisor at \(path): \(error)\(hint)")
            throw ExitCode(3)
        }
    }

    deinit { close(fd) }

    /// Sends `request` and waits (up to `timeout` seconds) for its response.
    func send(_ request: ControlRequest, timeout: Double = 30) throws -> ControlResponse {
        var request = request
        request.id = nextID
        nextID += 1
        try write(ControlProtocol.line(request))
        while true {
            guard let line = try readLine(timeout: timeout) else {
                fail("the supervisor at \(path) closed the connection")
                throw ExitCode(3)
            }
            let response = try ControlProtocol.decode(ControlResponse.self, from: line)
            if response.id == request.id || response.id == nil { return response }
        }
    }

    /// The next line from the supervisor, nil at EOF; waits up to `timeout` seconds (nil: forever).
    func readLine(timeout: Double?) throws -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeout.map { Int32($0 * 1000) } ?? -1)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                fail("the supervisor at \(path) did not answer within \(Int(timeout ?? 0)) s")
                throw ExitCode(3)
            }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    private func fail(_ message: String) {
        lastError = message
        if !quiet { Terminal.error(message) }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                fail("cannot write to the supervisor at \(path): \(Errno.current)")
                throw ExitCode(3)
            }
            offset += n
        }
    }
}

/// Runs one request against the supervisor `options` names; prints the error and exits 1 when it is refused.
func request(_ request: ControlRequest, _ options: ControlOptions) throws -> ControlResponse {
    let client = try ControlClient(path: try options.socketPath())
    let response = try client.send(request)
    guard response.ok else {
        Terminal.error(response.error ?? "the supervisor refused the request")
        for line in response.errors ?? [] { Terminal.error(line) }
        throw ExitCode(1)
    }
    return response
}

/// Standard output, whole lines.
func say(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { Glibc.write(1, $0, strlen($0)) }
}
