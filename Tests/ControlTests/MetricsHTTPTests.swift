import ControlProtocol
import Testing

/// Feeds `head` (lines separated by `\n`, as a client sends them) and returns the first decision,
/// with the number of lines it took; nil when the head never ended.
func decide(_ head: String) -> (decision: MetricsHTTP.Decision, after: Int)? {
    var reader = MetricsHTTP.RequestReader()
    // Only lines ended by `\n` are complete: what follows the last one is not fed.
    for (index, line) in head.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().enumerated() {
        if let decision = reader.feed(Array(line)) { return (decision, index + 1) }
    }
    return nil
}

func answerStatus(_ head: String) -> Int? {
    switch decide(head)?.decision {
    case .metrics: 200
    case .error(let status, _): status
    case nil: nil
    }
}

@Suite("The metrics endpoint's HTTP: request heads and responses")
struct MetricsHTTPTests {
    @Test func getMetricsIsDecidedAtTheBlankLineAndNotBefore() throws {
        let result = try #require(decide("GET /metrics HTTP/1.1\r\nHost: localhost:9464\r\nAccept: */*\r\n\r\n"))
        #expect(result.decision == .metrics(headOnly: false))
        #expect(result.after == 4)
        #expect(decide("GET /metrics HTTP/1.1\r\nHost: x\r\n") == nil, "no blank line yet: keep reading")
    }

    @Test(arguments: [
        ("HEAD /metrics HTTP/1.1\r\n\r\n", 200), ("GET /metrics HTTP/1.0\n\n", 200),
        ("GET /metrics?name[]=up HTTP/1.1\r\n\r\n", 200), ("GET http://127.0.0.1:9464/metrics HTTP/1.1\r\n\r\n", 200),
        ("\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n", 200),
        ("GET / HTTP/1.1\r\n\r\n", 404), ("GET /metrics/ HTTP/1.1\r\n\r\n", 404), ("GET /favicon.ico HTTP/1.1\r\n\r\n", 404),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405), ("DELETE /metrics HTTP/1.1\r\n\r\n", 405),
        ("GET /metrics HTTP/2.0\r\n\r\n", 505),
        ("GET /metrics\r\n\r\n", 400), ("GET  /metrics HTTP/1.1\r\n\r\n", 400), ("GET /metrics FTP/1.0\r\n\r\n", 400),
        ("G(T /metrics HTTP/1.1\r\n\r\n", 400), ("GET metrics HTTP/1.1\r\n\r\n", 400),
        ("\u{0}\u{1}\u{2}\u{FF}garbage\r\n", 400), ("GET /m\u{7}trics HTTP/1.1\r\n", 400),
        ("GET /metrics HTTP/1.1\r\nno colon here\r\n", 400), ("GET /metrics HTTP/1.1\r\n: empty name\r\n", 400),
        ("GET /metrics HTTP/1.1\r\nHost : x\r\n", 400), ("GET /metrics HTTP/1.1\r\nA: b\r\n  folded\r\n", 400),
        ("GET /metrics HTTP/1.1\r\nA: b\u{0}c\r\n", 400),
    ])
    func status(of head: String, is expected: Int) {
        #expect(answerStatus(head) == expected, "\(head.debugDescription)")
    }

    @Test func headersAreBoundedInCountAndBytes() {
        let many = "GET /metrics HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: MetricsHTTP.maxHeaderCount + 1) + "\r\n"
        #expect(answerStatus(many) == 431)
        let big = "GET /metrics HTTP/1.1\r\n" + String(repeating: "X-A: " + String(repeating: "b", count: 4000) + "\r\n", count: 10)
        #expect(answerStatus(big) == 431)
        let blank = String(repeating: "\r\n", count: MetricsHTTP.maxHeadLength)
        #expect(answerStatus(blank) != nil, "endless blank lines are bounded too")
        var reader = MetricsHTTP.RequestReader()
        #expect(reader.tooLong() == .error(status: 414, message: "request line longer than \(MetricsHTTP.maxLineLength) bytes"))
        _ = reader.feed(Array("GET /metrics HTTP/1.1\r".utf8))
        if case .error(let status, _) = reader.tooLong() { #expect(status == 431) } else { Issue.record("not an error") }
    }

    @Test func okResponseCarriesTheExpositionWithItsLength() {
        let body = "# HELP x é\n# TYPE x gauge\nx 1\n"
        let bytes = MetricsHTTP.response(to: .metrics(headOnly: false)) { body }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
        #expect(body.utf8.count == body.count + 1, "the length counts bytes, not characters")
    }

    @Test func headResponseHasTheLengthButNoBody() {
        let text = String(decoding: MetricsHTTP.response(to: .metrics(headOnly: true)) { "x 1\n" }, as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 4\r\nConnection: close\r\n\r\n"))
    }

    @Test func errorsExplainThemselvesAnd405SaysWhatIsAllowed() {
        var rendered = false
        let bytes = MetricsHTTP.response(to: .error(status: 405, message: "method POST not allowed; use GET")) {
            rendered = true
            return ""
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(text.contains("\r\nAllow: GET, HEAD\r\n") && text.contains("\r\nConnection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\nmethod POST not allowed; use GET\n"))
        #expect(!rendered, "an error does not render the metrics")
        let notFound = String(decoding: MetricsHTTP.response(to: .error(status: 404, message: "nope")) { "" }, as: UTF8.self)
        #expect(notFound.hasPrefix("HTTP/1.1 404 Not Found\r\n") && !notFound.contains("Allow:"))
    }
}
