import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// `metrics: { listen: 127.0.0.1:0 }` through `ringmaster run`, scraped by a real HTTP client
/// (curl, else Python's urllib), by raw sockets, and by `ringmaster metrics`.
@Suite(.serialized) struct MetricsRunTests {
    static let manifest = """
        version: 1
        workers:
          numbers:
            command: ringmaster-test-producer
            args: ["--records", "5000", "--min-size", "32", "--max-size", "32", "--batch"]
            instances: 2
            to: [sink]
          keeper:
            command: sleep
            args: ["300"]
            stop: { grace: 2s }
        consumers:
          sink: { plugin: discard }
        metrics: { listen: 127.0.0.1:0 }
        """

    @Test func scrapedFiguresMatchWhatTheProducersCommitted() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: Self.manifest, in: scratch)
        defer { run.killIfRunning() }
        let url = try #require(metricsURL(run), "stderr: \(run.stderr.suffix(2000))")

        // Both pools finish; the keeper keeps the run alive. Bounded waits, no timing asserted.
        #expect(run.awaitLog("numbers.0 finished") && run.awaitLog("numbers.1 finished"))
        let scraped = try #require(awaitScrape(url) { $0.value("ringmaster_consumer_records_total", ["consumer": "sink"]) == 10_000 })
        for index in ["0", "1"] {
            let labels = ["worker": "numbers", "instance": index]
            #expect(scraped.value("ringmaster_records_total", labels) == 5000)
            #expect(scraped.value("ringmaster_bytes_total", labels) == 160_000, "5000 records of 32 bytes")
            #expect(scraped.value("ringmaster_restarts_total", labels) == 0)
            #expect(scraped.value("ringmaster_exits_total", labels.merging(["reason": "exit_0"]) { $1 }) == 1)
            #expect(scraped.value("ringmaster_exits_total", labels.merging(["reason": "signal"]) { $1 }) == 0)
            #expect(scraped.value("ringmaster_instance_state", labels.merging(["state": "finished"]) { $1 }) == 1)
            #expect(scraped.value("ringmaster_instance_up", labels) == 0)
            #expect(scraped.value("ringmaster_ring_capacity_bytes", labels) == 4_194_304, "the default 4MiB ring")
        }
        let keeper = ["worker": "keeper", "instance": "0"]
        #expect(scraped.value("ringmaster_instance_up", keeper) == 1)
        #expect(scraped.value("ringmaster_instance_state", keeper.merging(["state": "running"]) { $1 }) == 1)
        #expect(scraped.value("ringmaster_records_total", keeper) == 0)
        #expect(scraped.value("ringmaster_consumer_errors_total", ["consumer": "sink", "plugin": "discard"]) == 0)
        #expect(scraped.value("ringmaster_consumer_lag_records", ["consumer": "sink"]) == 0)
        #expect(scraped.value("ringmaster_stopping") == 0)
        #expect(scraped.families.map(\.name) == scraped.families.map(\.name).sorted())

        // The same families over the control socket.
        let client = Scratch()
        let cli = try runToEnd(ringmasterPath, ["metrics", "-m", scratch.file("manifest.yaml")], in: client, limit: 30)
        #expect(cli.status == .exited(0), "stderr: \(cli.stderr)")
        let viaControl = try Exposition.parse(cli.stdout)
        #expect(viaControl.families.map(\.name) == scraped.families.map(\.name))
        #expect(viaControl.value("ringmaster_records_total", ["worker": "numbers", "instance": "1"]) == 5000)

        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
    }

    @Test func wrongPathsAndMethodsAndGarbageGetAnswersNotACrash() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: Self.manifest, in: scratch)
        defer { run.killIfRunning() }
        let url = try #require(metricsURL(run), "stderr: \(run.stderr.suffix(2000))")
        let port = try #require(UInt16(url.split(separator: ":").last!.prefix { $0.isNumber }))
        let base = "http://127.0.0.1:\(port)"

        #expect(try httpStatus(base + "/metrics", method: "GET") == 200)
        #expect(try httpStatus(base + "/", method: "GET") == 404)
        #expect(try httpStatus(base + "/metricsx", method: "GET") == 404)
        #expect(try httpStatus(base + "/metrics", method: "POST") == 405)
        #expect(try httpStatus(base + "/metrics", method: "DELETE") == 405)

        let garbage = rawExchange(port: port, Array("\u{0}\u{1}\u{2}\u{3} garbage \u{7F}\r\n\r\n".utf8) + [0xFF, 0xFE, 0x0A])
        #expect(garbage.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(garbage.debugDescription)")
        #expect(garbage.contains("\r\nConnection: close\r\n"))
        let endless = rawExchange(port: port, [UInt8](repeating: 0x41, count: 100_000))
        #expect(endless.hasPrefix("HTTP/1.1 414 "), "\(endless.prefix(200).debugDescription)")
        let headers = rawExchange(port: port, Array(("GET /metrics HTTP/1.1\r\n" + String(repeating: "X-Pad: 0123456789\r\n", count: 200) + "\r\n").utf8))
        #expect(headers.hasPrefix("HTTP/1.1 431 "), "\(headers.prefix(200).debugDescription)")
        #expect(rawExchange(port: port, Array("GET /metr".utf8)).isEmpty, "a request cut short gets no answer")
        #expect(rawExchange(port: port, []).isEmpty)
        let head = rawExchange(port: port, Array("HEAD /metrics HTTP/1.0\r\n\r\n".utf8))
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("\r\n\r\n"), "HEAD: headers only")
        #expect(head.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))

        // Still serving, still supervising.
        #expect(run.process.poll() == nil)
        let after = try Exposition.parse(try httpGet(base + "/metrics"))
        #expect(after.value("ringmaster_instance_up", ["worker": "keeper", "instance": "0"]) == 1)
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(rawExchange(port: port, Array("GET /metrics HTTP/1.1\r\n\r\n".utf8)).isEmpty, "closed with the run")
    }

    @Test func aPortInUseStopsTheRunBeforeAnythingStarts() throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(bound == 0 && listen(holder, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)

        let scratch = Scratch()
        let manifest = Self.manifest.replacingOccurrences(of: "127.0.0.1:0", with: "127.0.0.1:\(port)")
        let run = try SupervisorRun(manifest: manifest, in: scratch, extra: ["--control", scratch.file("c.sock")])
        #expect(run.finish() == .exited(3))
        #expect(run.stderr.contains("cannot serve metrics on 127.0.0.1:\(port): Address already in use"), "\(run.stderr)")
        #expect(!run.stderr.contains("started numbers"))
        #expect(access(scratch.file("c.sock"), F_OK) != 0, "the control socket is removed again")
    }

    @Test func theVerbNeedsARunningSupervisor() throws {
        let scratch = Scratch()
        let finished = try runToEnd(ringmasterPath, ["metrics", "--control", scratch.file("none.sock")], in: scratch, limit: 30)
        #expect(finished.status == .exited(3))
        #expect(finished.stderr.contains("no supervisor is running there"))
    }
}

// MARK: clients

/// The URL the supervisor logged (`metrics served on http://127.0.0.1:PORT/metrics`).
func metricsURL(_ run: SupervisorRun) -> String? {
    guard run.awaitLog("metrics served on http://") else { return nil }
    let line = run.stderr.split(separator: "\n").first { $0.contains("metrics served on http://") }
    guard let line, let start = line.range(of: "http://")?.lowerBound else { return nil }
    return String(line[start...].prefix { !$0.isWhitespace })
}

/// Scrapes until `done` holds (bounded); the last parse, or nil if it never held.
func awaitScrape(_ url: String, limit: Double = 30, until done: (Exposition) -> Bool) throws -> Exposition? {
    var waited = 0.0
    while waited < limit {
        let exposition = try Exposition.parse(try httpGet(url))
        if done(exposition) { return exposition }
        usleep(50_000)
        waited += 0.05
    }
    return nil
}

let curl = access("/usr/bin/curl", X_OK) == 0 ? "/usr/bin/curl" : nil

/// The body of `GET url`, by curl or urllib.
func httpGet(_ url: String) throws -> String {
    let scratch = Scratch()
    let finished = try curl.map { try runToEnd($0, ["-sS", "--fail", "--max-time", "20", url], in: scratch, limit: 30) }
        ?? runToEnd("/usr/bin/python3", ["-c", "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())", url],
                    in: scratch, limit: 30)
    #expect(finished.status == .exited(0), "GET \(url): \(finished.stderr)")
    return finished.stdout
}

/// The status code of `METHOD url`, by curl or urllib.
func httpStatus(_ url: String, method: String) throws -> Int? {
    let scratch = Scratch()
    let python = """
        import urllib.request, urllib.error, sys
        try: print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], method=sys.argv[2]), timeout=20).status)
        except urllib.error.HTTPError as e: print(e.code)
        """
    let finished = try curl.map { try runToEnd($0, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "--max-time", "20", url], in: scratch, limit: 30) }
        ?? runToEnd("/usr/bin/python3", ["-c", python, url, method], in: scratch, limit: 30)
    return Int(finished.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
}

func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// Connects, sends `bytes`, and reads until the server closes (bounded); "" if it could not connect.
func rawExchange(port: UInt16, _ bytes: [UInt8]) -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var address = loopback(port: port)
    let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else { return "" }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }
        offset += n
    }
    // A request cut short: tell the server nothing more comes.
    shutdown(fd, Int32(SHUT_WR))
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while poll(&poller, 1, 20_000) > 0 {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += chunk[..<n]
    }
    return String(decoding: received, as: UTF8.self)
}
