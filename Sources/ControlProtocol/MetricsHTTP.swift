/// The metrics endpoint's HTTP/1.1, as pure values: a request head read line by line with bounds,
/// the decision it leads to, and the response bytes. The supervisor's server does the I/O; this
/// is everything that can be tested without a socket.
///
/// One request per connection: every response says `Connection: close` and the server closes
/// after writing it. A request body is never read (`GET /metrics` has none).
public enum MetricsHTTP {
    /// The path served.
    public static let path = "/metrics"
    /// The longest request line or header line read.
    public static let maxLineLength = 8 << 10
    /// The most bytes a request head (request line and headers) may have.
    public static let maxHeadLength = 32 << 10
    /// The most header lines a request may have.
    public static let maxHeaderCount = 100

    /// What to answer.
    public enum Decision: Equatable, Sendable {
        /// `200` with the metrics; without the body for `HEAD`.
        case metrics(headOnly: Bool)
        /// An error status with a one-line explanation as the body.
        case error(status: Int, message: String)
    }

    /// Reads a request head one line at a time (each without its `\n`) and decides once the
    /// blank line ends it, or as soon as it is broken or too large.
    public struct RequestReader: Sendable {
        private var method: String?
        private var target: String?
        private var bytes = 0
        private var headers = 0

        public init() {}

        /// Takes one line; nil while the head goes on, else what to answer.
        public mutating func feed(_ line: [UInt8]) -> Decision? {
            bytes += line.count + 1
            var line = line[...]
            if line.last == 0x0D { line = line.dropLast() }
            guard bytes <= MetricsHTTP.maxHeadLength else { return tooLong() }
            guard let method, let target else {
                // Empty lines before the request line are to be ignored (RFC 9112, 2.2).
                if line.isEmpty { return nil }
                return requestLine(line)
            }
            if line.isEmpty { return MetricsHTTP.route(method: method, target: target) }
            headers += 1
            guard headers <= MetricsHTTP.maxHeaderCount else { return tooLong() }
            return MetricsHTTP.isHeaderLine(line) ? nil : .error(status: 400, message: "malformed header line")
        }

        /// The answer to a line longer than `maxLineLength`.
        public func tooLong() -> Decision {
            target == nil
                ? .error(status: 414, message: "request line longer than \(MetricsHTTP.maxLineLength) bytes")
                : .error(status: 431, message: "request head larger than \(MetricsHTTP.maxHeadLength) bytes or \(MetricsHTTP.maxHeaderCount) headers")
        }

        private mutating func requestLine(_ line: ArraySlice<UInt8>) -> Decision? {
            let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(MetricsHTTP.isTokenByte),
                  !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                return .error(status: 400, message: "malformed request line")
            }
            let version = String(decoding: parts[2], as: UTF8.self)
            guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
                let looksLikeHTTP = version.utf8.count == 8 && version.hasPrefix("HTTP/")
                    && version.utf8.enumerated().allSatisfy { $0.offset == 6 ? $0.element == 0x2E : $0.offset < 5 || (0x30...0x39).contains($0.element) }
                return looksLikeHTTP ? .error(status: 505, message: "only HTTP/1.1 and HTTP/1.0 are served")
                                     : .error(status: 400, message: "malformed request line")
            }
            method = String(decoding: parts[0], as: UTF8.self)
            target = String(decoding: parts[1], as: UTF8.self)
            return nil
        }
    }

    /// `GET`/`HEAD` on `/metrics` (query ignored; origin or absolute form), else 404 or 405.
    static func route(method: String, target: String) -> Decision {
        var path = Substring(target)
        if let scheme = ["http://", "https://"].first(where: { target.lowercased().hasPrefix($0) }) {
            let rest = target.dropFirst(scheme.count)
            path = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        guard path.hasPrefix("/") else { return .error(status: 400, message: "malformed request target") }
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<query] }
        guard path == MetricsHTTP.path else { return .error(status: 404, message: "not found; the metrics are at \(MetricsHTTP.path)") }
        switch method {
        case "GET": return .metrics(headOnly: false)
        case "HEAD": return .metrics(headOnly: true)
        default: return .error(status: 405, message: "method \(method) not allowed; use GET")
        }
    }

    /// `name: value`: a token before the colon, then no control bytes other than tab. A line
    /// starting with white space (obsolete folding) is refused.
    static func isHeaderLine(_ line: ArraySlice<UInt8>) -> Bool {
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex,
              line[..<colon].allSatisfy(isTokenByte) else { return false }
        return line[(colon + 1)...].allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }

    /// An RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    // MARK: responses

    /// The whole response for `decision`; `metrics` renders the body when it is needed.
    public static func response(to decision: Decision, metrics: () -> String) -> [UInt8] {
        switch decision {
        case .metrics(let headOnly):
            return response(status: 200, contentType: PrometheusText.contentType, body: Array(metrics().utf8), headOnly: headOnly)
        case .error(let status, let message):
            return response(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8),
                            extraHeaders: status == 405 ? ["Allow: GET, HEAD"] : [])
        }
    }

    /// A `Connection: close` response with `Content-Length`.
    public static func response(status: Int, contentType: String, body: [UInt8], headOnly: Bool = false,
                                extraHeaders: [String] = []) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for header in extraHeaders { head += header + "\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + (headOnly ? [] : body)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}
