import Yams

/// Where the supervisor serves Prometheus metrics over HTTP (`metrics: { listen: HOST:PORT }`).
public struct MetricsSpec: Hashable, Sendable {
    /// An IPv4 address in dotted-quad form (`127.0.0.1`, `0.0.0.0` for every interface).
    public var host: String
    /// 0...65535; 0 lets the kernel pick a free port (the supervisor logs the one it got).
    public var port: Int

    /// Makes a spec; `Manifest.parse` validates, this does not.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var address: String { "\(host):\(port)" }
}

extension ManifestDecoder {
    static let metricsKeys = ["listen"]

    /// Reads the top-level `metrics` map; nil after reporting a problem.
    func metrics(_ entry: Entry, in document: MapNode) -> MetricsSpec? {
        guard let map = map(entry, in: document, expected: "a map with listen") else { return nil }
        rejectUnknownKeys(map, known: Self.metricsKeys)
        guard let listen = map["listen"] else {
            reportMissing("listen", in: map, expected: "the address to serve on, such as 127.0.0.1:9464")
            return nil
        }
        let slot = map.slot(listen)
        let expected = "HOST:PORT with an IPv4 address and a port, such as 127.0.0.1:9464"
        guard let text = text(slot, expected: expected) else { return nil }
        switch Self.listenAddress(text.value) {
        case .success(let spec):
            return spec
        case .failure(let problem):
            report(slot.field, at: slot.position, "must be \(expected) (got \(Self.describe(slot.node)); \(problem.reason))")
            return nil
        }
    }

    /// Why a `listen` value is not `HOST:PORT`.
    struct ListenProblem: Error {
        let reason: String
    }

    /// `HOST:PORT` with a dotted-quad IPv4 host (as `inet_pton` takes it: four decimal parts of at
    /// most 255, no leading zeros) and a decimal port from 0 to 65535.
    static func listenAddress(_ text: String) -> Result<MetricsSpec, ListenProblem> {
        guard let colon = text.lastIndex(of: ":") else {
            if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
                return .failure(ListenProblem(reason: "the host is missing: write 127.0.0.1:\(text) for this machine only, 0.0.0.0:\(text) for every interface"))
            }
            return .failure(ListenProblem(reason: "the port is missing"))
        }
        let host = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        guard isDottedQuad(host) else {
            return .failure(ListenProblem(reason: "the host must be an IPv4 address such as 127.0.0.1 or 0.0.0.0"))
        }
        guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let number = Int(port), number <= 65535 else {
            return .failure(ListenProblem(reason: "the port must be a number from 0 to 65535"))
        }
        return .success(MetricsSpec(host: host, port: number))
    }

    /// Four decimal numbers 0...255 separated by dots, without leading zeros.
    static func isDottedQuad(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit)
                && (part.count == 1 || part.first != "0") && Int(part)! <= 255
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
