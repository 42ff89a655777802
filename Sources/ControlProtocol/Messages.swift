import Foundation

/// The control protocol, version 1: JSON objects, one per line (`\n`), over the supervisor's Unix
/// socket. A client sends requests; the supervisor answers each with one response carrying the
/// same `id`, in order. `logs` with `follow` keeps the connection open and streams `event: "log"`
/// responses until the client closes it. The byte-level description: docs/CONTROL.md.
public enum ControlProtocol {
    /// The version this code speaks; a request with another `v` is refused.
    public static let version = 1
    /// The longest request line the supervisor reads.
    public static let maxLineLength = 64 << 10

    /// `value` as one JSON line, `\n` included. Keys are sorted, so output is stable.
    public static func line(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [0x0A]
    }

    /// Decodes one line (without its `\n`).
    public static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}

/// One request. `cmd` names the command; the other fields are its arguments.
public struct ControlRequest: Codable, Sendable, Equatable {
    /// The protocol version (1).
    public var v: Int
    /// Echoed in the response, so a client may pipeline requests.
    public var id: Int?
    /// `status`, `start`, `stop`, `restart`, `scale`, `shutdown`, `reload`, `logs`, `metrics`, `ping`.
    public var cmd: String
    /// `WORKER` or `WORKER.INSTANCE` (start, stop, restart, logs; the worker for scale).
    public var target: String?
    /// The pool size for `scale`.
    public var count: Int?
    /// `logs`: keep the connection and stream new lines.
    public var follow: Bool?
    /// `logs`: how many of the latest lines per instance (default 100).
    public var lines: Int?

    public init(cmd: String, target: String? = nil, count: Int? = nil, follow: Bool? = nil, lines: Int? = nil, id: Int? = nil) {
        self.v = ControlProtocol.version
        self.id = id
        self.cmd = cmd
        self.target = target
        self.count = count
        self.follow = follow
        self.lines = lines
    }
}

/// One response: `ok` with the command's result in the field it uses, or `error`.
public struct ControlResponse: Codable, Sendable {
    public var v = ControlProtocol.version
    public var id: Int?
    public var ok: Bool
    /// Why the request failed (ok false).
    public var error: String?
    /// A one-line account of what was done (start, stop, restart, scale, shutdown, reload).
    public var message: String?
    /// The instances an action applied to, as `worker.index`.
    public var affected: [String]?
    /// `status`.
    public var status: StatusReport?
    /// `reload`: what changed.
    public var reload: ReloadSummary?
    /// `reload` that was refused: the manifest's errors, each `file:line:column: message`.
    public var errors: [String]?
    /// `logs`: captured lines, oldest first.
    public var log: [LogLine]?
    /// `"log"` on a line streamed by `logs` with `follow` (its `log` holds the new lines).
    public var event: String?
    /// `metrics`: Prometheus text exposition.
    public var metrics: String?

    public init(id: Int?, ok: Bool, error: String? = nil, message: String? = nil) {
        self.id = id
        self.ok = ok
        self.error = error
        self.message = message
    }

    /// A refusal with `error`.
    public static func failure(_ id: Int?, _ error: String) -> ControlResponse { ControlResponse(id: id, ok: false, error: error) }
}

/// A captured output line of a worker instance.
public struct LogLine: Codable, Sendable, Equatable {
    /// `worker.index`.
    public var instance: String
    /// Numbered per instance from 1, so a follower can tell what it missed.
    public var number: UInt64
    /// Wall-clock time, seconds since the Unix epoch.
    public var time: Double
    /// `stdout`, `stderr` or `ring` (a log-line record).
    public var stream: String
    public var text: String

    public init(instance: String, number: UInt64, time: Double, stream: String, text: String) {
        self.instance = instance
        self.number = number
        self.time = time
        self.stream = stream
        self.text = text
    }
}

/// What a reload changed.
public struct ReloadSummary: Codable, Sendable, Equatable {
    /// Workers started because they are new.
    public var added: [String] = []
    /// Workers stopped because they are gone from the manifest.
    public var removed: [String] = []
    /// Workers restarted because their definition changed.
    public var changed: [String] = []
    /// Workers whose pool size changed (and nothing else): scaled, not restarted.
    public var scaled: [String] = []
    /// Workers left alone.
    public var unchanged: [String] = []

    public init() {}
}
