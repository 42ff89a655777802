import Glibc
import RingChannel
import RingmasterTestSupport

/// The control plane at work beside a supervised run: `ringmaster top` in a tmux pane (a real
/// terminal) at its default refresh (1 s), and an external scraper fetching /metrics every 100 ms.
/// Both share the supervisor's CPU (they inherit this program's pinning), so their own CPU time
/// is part of the cost measured.
/// Both are attached before the producer's clock starts; `stop()` ends them.
struct ControlLoad {
    private let tmuxSocket: String
    private let scraper: SpawnedProcess
    private let scrapeLog: String
    private let scratch: ScratchDirectory

    init(run: RingmasterRun, manifest: String, scratch: ScratchDirectory, name: String) throws {
        self.scratch = scratch
        guard let tmux = findOnPath("tmux") else { throw BenchFailure("tmux is not installed (make bench installs it)") }
        guard let python = findOnPath("python3") else { throw BenchFailure("python3 is not on PATH (the metrics scraper)") }
        let prefix = "metrics served on http://"
        guard run.awaitLog(prefix, limit: 20),
              let line = run.standardError.split(separator: "\n").first(where: { $0.contains(prefix) }),
              let start = line.firstRange(of: prefix) else {
            throw BenchFailure("\(name): the supervisor did not log its metrics address; stderr ends: \(run.standardError.suffix(600))")
        }
        let url = "http://" + line[start.upperBound...].prefix { !$0.isWhitespace }
        // The scraper: a separate process, as Prometheus would be; one line per completed scrape.
        scrapeLog = scratch.file(name + ".scrapes")
        let script = """
            import sys, time, urllib.request
            url, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
            while True:
                body = urllib.request.urlopen(url, timeout=5).read()
                log.write("%d\\n" % len(body))
                time.sleep(0.1)
            """
        scraper = try SpawnedProcess.spawn(python, ["-c", script, url, scrapeLog])
        // top in a private tmux server, sized like a terminal window.
        tmuxSocket = scratch.file(name + ".tmux")
        let ringmaster = executableDirectory() + "/ringmaster"
        let session = try SpawnedProcess.spawn(tmux, ["-S", tmuxSocket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50",
                                                      "\(ringmaster) top -m \(manifest)"])
        guard session.wait() == .exited(0) else { throw BenchFailure("\(name): tmux new-session failed") }
        // Attached: top has drawn a frame (its footer) and the scraper has completed a scrape.
        let limit = MonotonicClock.now() &+ 20_000_000_000
        while true {
            let pane = Self.capture(tmux, tmuxSocket)
            if pane.contains("q quit") && !scratch.read(name + ".scrapes").isEmpty { break }
            guard MonotonicClock.now() < limit else {
                Self.killServer(tmux, tmuxSocket)
                scraper.kill(SIGKILL)
                scraper.wait()
                throw BenchFailure("\(name): top or the scraper did not attach within 20 s (pane: \(pane.prefix(200)))")
            }
            usleep(20_000)
        }
    }

    /// Ends top and the scraper; the scrapes that completed.
    func stop() -> Int {
        if let tmux = findOnPath("tmux") { Self.killServer(tmux, tmuxSocket) }
        scraper.kill(SIGKILL)
        scraper.wait()
        return readWholeFile(scrapeLog).split(separator: "\n").count
    }

    private static func capture(_ tmux: String, _ socket: String) -> String {
        let output = "\(socket).pane"
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, let process = try? SpawnedProcess.spawn(tmux, ["-S", socket, "capture-pane", "-p"], stdoutTo: fd) else { return "" }
        process.wait()
        return readWholeFile(output)
    }

    private static func killServer(_ tmux: String, _ socket: String) {
        if let process = try? SpawnedProcess.spawn(tmux, ["-S", socket, "kill-server"]) { process.wait() }
    }
}
