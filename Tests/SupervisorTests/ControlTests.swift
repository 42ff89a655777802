import ControlProtocol
import CShim
import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The control socket against live supervisors: the protocol's round trips and refusals, every
/// verb, reload with a changed, an added, a removed and an invalid worker, scaling both ways.
@Suite(.serialized) struct ControlTests {
    /// A long-running test producer: a record every 10 ms until stopped.
    static func forever(_ name: String, instances: Int = 1, extra: String = "") -> String {
        """
          \(name):
            command: ringmaster-test-producer
            args: ["--records", "0", "--forever", "--sleep-ms", "10"]
            instances: \(instances)
            stop: { signal: TERM, grace: 5s }
            to: [sink]
        \(extra.isEmpty ? "" : "    " + extra + "\n")
        """
    }

    static func manifest(_ workers: String) -> String {
        """
        version: 1
        workers:
        \(workers)
        consumers:
          sink: { plugin: discard }
        """
    }

    /// `ringmaster VERB ARGS --control PATH`, run to its end.
    static func ctl(_ arguments: [String], _ run: SupervisorRun) throws -> Finished {
        try runToEnd(ringmasterPath, arguments + ["--control", run.scratch.file("control.sock")], in: Scratch())
    }

    /// A supervisor on `manifest` with its control socket in the scratch directory, its
    /// instances `labels` started.
    static func start(_ manifest: String, expecting labels: [String]) throws -> SupervisorRun {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: manifest, in: scratch, extra: ["--control", scratch.file("control.sock")])
        for label in labels { #expect(run.awaitLog("started \(label)"), "\(label) did not start: \(run.stderr.suffix(1500))") }
        #expect(run.awaitLog("control socket ready"))
        return run
    }

    static func status(_ run: SupervisorRun) throws -> StatusReport {
        let finished = try ctl(["status", "--json"], run)
        #expect(finished.status == .exited(0), "\(finished.stderr)")
        return try JSONDecoder().decode(StatusReport.self, from: Data(finished.stdout.utf8))
    }

    static func instance(_ report: StatusReport, _ label: String) -> InstanceStatus? {
        report.workers.flatMap(\.instances).first { $0.label == label }
    }

    /// Polls `status` until `condition` holds (bounded); the last report.
    static func awaitStatus(_ run: SupervisorRun, limit: Double = 20, _ condition: (StatusReport) -> Bool) throws -> StatusReport {
        var report = try status(run)
        var waited = 0.0
        while !condition(report) && waited < limit {
            usleep(50_000)
            waited += 0.05
            report = try status(run)
        }
        return report
    }

    /// One raw exchange on the socket: `bytes` out, the first line back.
    static func raw(_ bytes: [UInt8], _ run: SupervisorRun) -> String {
        let fd = cshim_unix_connect(run.scratch.file("control.sock"))
        guard fd >= 0 else { return "connect failed: \(errno)" }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !received.contains(0x0A), poll(&poller, 1, 10_000) > 0 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += chunk[..<n]
        }
        return String(decoding: received.prefix { $0 != 0x0A }, as: UTF8.self)
    }

    // MARK: protocol

    @Test func badRequestsGetErrorRepliesAndTheSupervisorCarriesOn() throws {
        let run = try Self.start(Self.manifest(Self.forever("w")), expecting: ["w.0"])
        #expect(Self.raw(Array("this is not json\n".utf8), run).contains("\"error\":\"malformed request"))
        #expect(Self.raw(Array("{\"v\":2,\"id\":7,\"cmd\":\"status\"}\n".utf8), run)
            == "{\"error\":\"protocol version 2 is not supported (this supervisor speaks 1)\",\"id\":7,\"ok\":false,\"v\":1}")
        #expect(Self.raw(Array("{\"v\":1,\"id\":8,\"cmd\":\"dance\"}\n".utf8), run).contains("unknown command \\\"dance\\\""))
        #expect(Self.raw(Array("{\"v\":1,\"id\":9,\"cmd\":\"stop\",\"target\":\"ww\"}\n".utf8), run)
            .contains("no worker \\\"ww\\\" (workers: w)"))
        #expect(Self.raw([UInt8](repeating: 0x41, count: 70_000), run).contains("request longer than 65536 bytes"))
        #expect(Self.raw(Array("{\"v\":1,\"id\":3,\"cmd\":\"ping\"}\n".utf8), run) == "{\"id\":3,\"message\":\"pong\",\"ok\":true,\"v\":1}")
        let report = try Self.status(run)
        #expect(Self.instance(report, "w.0")?.state == "running")
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    @Test func theSocketIsPrivateAndASecondSupervisorIsRefused() throws {
        let run = try Self.start(Self.manifest(Self.forever("w")), expecting: ["w.0"])
        var info = stat()
        #expect(stat(run.scratch.file("control.sock"), &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
        let second = try runToEnd(ringmasterPath, ["run", run.scratch.file("manifest.yaml"), "--control", run.scratch.file("control.sock")],
                                  in: Scratch())
        #expect(second.status == .exited(3))
        #expect(second.stderr.contains("belongs to a running supervisor"), "\(second.stderr)")
        #expect(Self.instance(try Self.status(run), "w.0")?.state == "running", "the first one carries on")
        // A SIGKILLed supervisor leaves its socket behind; the next one removes it.
        run.process.kill(SIGKILL)
        run.process.wait()
        #expect(access(run.scratch.file("control.sock"), F_OK) == 0)
        let next = try SupervisorRun(manifest: Self.manifest(Self.forever("w")), in: Scratch(),
                                     extra: ["--control", run.scratch.file("control.sock")])
        #expect(next.awaitLog("control socket ready"), "\(next.stderr.suffix(1500))")
        next.process.kill(SIGTERM)
        #expect(next.finish() == .exited(0))
        #expect(access(run.scratch.file("control.sock"), F_OK) != 0, "removed at exit")
    }

    // MARK: verbs

    @Test func stopHoldsStartResumesRestartReplacesTheProcess() throws {
        let run = try Self.start(Self.manifest(Self.forever("w", instances: 2)), expecting: ["w.0", "w.1"])
        let before = try Self.status(run)
        let firstPID = try #require(Self.instance(before, "w.1")?.pid)

        let stop = try Self.ctl(["stop", "w.1"], run)
        #expect(stop.status == .exited(0) && stop.stdout == "stopping w.1\n", "\(stop.stdout)\(stop.stderr)")
        var report = try Self.awaitStatus(run) { Self.instance($0, "w.1")?.state == "held" }
        #expect(Self.instance(report, "w.1")?.state == "held")
        #expect(Self.instance(report, "w.1")?.pid == nil)
        #expect(Self.instance(report, "w.0")?.state == "running", "the other instance is untouched")
        #expect(processIsGone(firstPID))
        let again = try Self.ctl(["stop", "w.1"], run)
        #expect(again.stdout.contains("nothing to do"))

        #expect(try Self.ctl(["start", "w.1"], run).stdout == "starting w.1\n")
        report = try Self.awaitStatus(run) { Self.instance($0, "w.1")?.state == "running" }
        let secondPID = try #require(Self.instance(report, "w.1")?.pid)
        #expect(secondPID != firstPID)
        #expect(Self.instance(report, "w.1")?.restarts == 1)

        #expect(try Self.ctl(["restart", "w"], run).stdout == "restarting w.0, w.1\n")
        report = try Self.awaitStatus(run) {
            Self.instance($0, "w.0")?.restarts == 1 && Self.instance($0, "w.1")?.restarts == 2
                && $0.workers[0].instances.allSatisfy { $0.state == "running" }
        }
        #expect(Self.instance(report, "w.1")?.pid != secondPID)
        #expect(Self.instance(report, "w.0")?.lastExit == "SIGTERM" || Self.instance(report, "w.0")?.lastExit == "exit 0")

        let unknown = try Self.ctl(["restart", "w.7"], run)
        #expect(unknown.status == .exited(1) && unknown.stderr.contains("w has no instance 7"))
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    /// A restart while a slow consumer still reads batches of the ring: the new process may only
    /// write the ring once every consumer let go, or that consumer would read the new process's
    /// records in place of the old ones. Both consumers get every record once, intact.
    @Test func restartWaitsForConsumersToLetGoOfTheRing() throws {
        let scratch = Scratch()
        let records = 3000
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "\(records)", "--checkpoint-every", "100", "--max-size", "200"]
                channel: { ring: 16KiB, max_record: 1KiB }
                stop: { signal: TERM, grace: 5s }
                to: [file, slow]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("file.jsonl")) }
              slow: { plugin: exec, command: /bin/sh, args: ["-c", "sleep 1; cat > \(scratch.file("slow.jsonl"))"] }
            """, in: scratch, extra: ["--control", scratch.file("control.sock")])
        #expect(run.awaitLog("started w.0") && run.awaitLog("control socket ready"))
        usleep(200_000)  // the producer fills the ring and blocks behind the sleeping consumer
        let restart = try Self.ctl(["restart", "w"], run)
        #expect(restart.stdout == "restarting w.0\n", "\(restart.stdout)\(restart.stderr)")
        #expect(run.finish(limit: 60) == .exited(0), "\(run.stderr.suffix(2000))")
        #expect(run.stderr.contains("generation=1"), "restarted: \(run.stderr.suffix(2000))")
        for file in ["file.jsonl", "slow.jsonl"] {
            let delivered = readDelivered(scratch.read(file))
            #expect(delivered.allSatisfy { $0.payloadSequence != nil }, "\(file): a record was corrupted")
            let sequences = delivered.compactMap(\.payloadSequence)
            let firstWrong = sequences.indices.first { sequences[$0] != UInt64($0) }
            #expect(sequences.count == records && firstWrong == nil,
                    "\(file): \(sequences.count) records, first out of place at index \(firstWrong.map(String.init) ?? "none")")
        }
    }

    @Test func aRunWhoseInstancesAreAllHeldKeepsGoingUntilShutdown() throws {
        let run = try Self.start(Self.manifest(Self.forever("w")), expecting: ["w.0"])
        _ = try Self.ctl(["stop", "w"], run)
        _ = try Self.awaitStatus(run) { Self.instance($0, "w.0")?.state == "held" }
        usleep(300_000)
        #expect(run.process.poll() == nil, "held instances keep the supervisor running")
        let shutdown = try Self.ctl(["shutdown"], run)
        #expect(shutdown.stdout == "shutting down\n")
        #expect(run.finish() == .exited(0))
    }

    @Test func scaleGrowsAndShrinksAPool() throws {
        let run = try Self.start(Self.manifest(Self.forever("w")), expecting: ["w.0"])
        let pid0 = try #require(Self.instance(try Self.status(run), "w.0")?.pid)
        #expect(try Self.ctl(["scale", "w", "3"], run).stdout == "starting w.1, w.2\n")
        var report = try Self.awaitStatus(run) { $0.workers[0].instances.count == 3 && $0.workers[0].instances.allSatisfy { $0.state == "running" } }
        #expect(report.workers[0].size == 3)
        #expect(report.workers[0].instances.map(\.label) == ["w.0", "w.1", "w.2"])
        #expect(Self.instance(report, "w.0")?.pid == pid0, "scaling up restarts nothing")
        #expect(run.awaitLog("started w.2"))

        #expect(try Self.ctl(["scale", "w", "1"], run).stdout == "stopping w.1, w.2\n")
        report = try Self.awaitStatus(run) { $0.workers[0].instances.count == 1 }
        #expect(report.workers[0].instances.map(\.label) == ["w.0"])
        #expect(Self.instance(report, "w.0")?.pid == pid0)
        let zero = try Self.ctl(["scale", "w", "0"], run)
        #expect(zero.status == .exited(2), "\(zero.stderr)")
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    // MARK: reload

    @Test func reloadAppliesTheDifferenceAndLeavesTheRestRunning() throws {
        let run = try Self.start(Self.manifest(Self.forever("same") + Self.forever("edited") + Self.forever("gone")),
                                 expecting: ["same.0", "edited.0", "gone.0"])
        let before = try Self.status(run)
        let samePID = try #require(Self.instance(before, "same.0")?.pid)
        let editedPID = try #require(Self.instance(before, "edited.0")?.pid)

        // Invalid: refused, errors with positions, nothing touched.
        run.scratch.write("manifest.yaml", Self.manifest(Self.forever("same") + "  edited:\n    comand: x\n"))
        let refused = try Self.ctl(["reload"], run)
        #expect(refused.status == .exited(1))
        #expect(refused.stderr.contains("is not valid; nothing was changed"), "\(refused.stderr)")
        #expect(refused.stderr.contains("manifest.yaml:"), "errors carry positions: \(refused.stderr)")
        var report = try Self.status(run)
        #expect(Self.instance(report, "gone.0")?.state == "running")
        #expect(Self.instance(report, "edited.0")?.pid == editedPID)

        // Valid: `edited` changes its arguments, `gone` goes, `added` comes.
        let edited = Self.forever("edited").replacingOccurrences(of: "\"--sleep-ms\", \"10\"", with: "\"--sleep-ms\", \"20\"")
        run.scratch.write("manifest.yaml", Self.manifest(Self.forever("same") + edited + Self.forever("added")))
        let applied = try Self.ctl(["reload"], run)
        #expect(applied.status == .exited(0), "\(applied.stderr)")
        #expect(applied.stdout == "reloaded: added added; removed gone; restarted edited; 1 unchanged\n", "\(applied.stdout)")
        report = try Self.awaitStatus(run) {
            Self.instance($0, "added.0")?.state == "running" && Self.instance($0, "edited.0")?.state == "running"
                && Self.instance($0, "gone.0") == nil
        }
        #expect(Self.instance(report, "same.0")?.pid == samePID, "unchanged workers keep their pids")
        #expect(Self.instance(report, "edited.0")?.pid != editedPID, "a changed worker is restarted")
        #expect(Self.instance(report, "gone.0") == nil)
        #expect(report.workers.map(\.name) == ["same", "edited", "added"])

        // SIGHUP does the same: the pool of `same` grows to 2, nothing restarts.
        run.scratch.write("manifest.yaml", Self.manifest(Self.forever("same", instances: 2) + edited + Self.forever("added")))
        run.process.kill(SIGHUP)
        report = try Self.awaitStatus(run) { Self.instance($0, "same.1")?.state == "running" }
        #expect(Self.instance(report, "same.0")?.pid == samePID)
        #expect(run.stderr.contains("scaled same"))
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    // MARK: logs

    @Test func logsPrintsTheLatestLinesAndFollowsNewOnes() throws {
        let run = try Self.start(Self.manifest("""
              talk:
                command: /bin/sh
                args: ["-c", "i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.05; done"]
                instances: 2
            """), expecting: ["talk.0", "talk.1"])
        #expect(run.awaitLog("[talk.1] out 5"))
        let tail = try Self.ctl(["logs", "talk.1", "-n", "3"], run)
        #expect(tail.status == .exited(0), "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(tail.stdout)")
        #expect(lines.allSatisfy { $0.contains(" talk.1 stdout out ") || $0.contains(" talk.1 stderr err ") }, "\(tail.stdout)")
        #expect(lines.first.map { $0.count > 24 && $0.dropFirst(23).hasPrefix("Z ") } == true, "RFC 3339 time first: \(tail.stdout)")

        // Follow: the first lines, then new ones as the workers write them, until the client goes.
        let out = open(run.scratch.file("follow.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let follower = try SpawnedProcess.spawn(ringmasterPath, ["logs", "talk", "-f", "-n", "1", "--control", run.scratch.file("control.sock")],
                                                stdoutTo: out)
        close(out)
        #expect(run.scratch.awaitLines("follow.txt", atLeast: 20), "new lines are streamed")
        let followed = run.scratch.read("follow.txt")
        #expect(followed.contains(" talk.0 stdout ") && followed.contains(" talk.1 stderr "), "both instances: \(followed.prefix(400))")
        follower.kill(SIGTERM)
        follower.wait()

        let unknown = try Self.ctl(["logs", "walk"], run)
        #expect(unknown.status == .exited(1) && unknown.stderr.contains("no worker \"walk\""), "\(unknown.stderr)")
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    @Test func aDefaultSocketThatCannotBeMadeOnlyCostsTheControlSocket() throws {
        // Beside a manifest deep enough that the socket's path does not fit sun_path (108 bytes).
        let scratch = Scratch()
        let deep = scratch.path + "/" + String(repeating: "d", count: 120)
        #expect(mkdir(deep, 0o755) == 0)
        let manifest = deep + "/m.yaml"
        _ = FileManager.default.createFile(atPath: manifest, contents: Data(Self.manifest("""
              once:
                command: ringmaster-test-producer
                args: ["--records", "10"]
                to: [sink]
            """).utf8))
        let finished = try runToEnd(ringmasterPath, ["run", manifest], in: scratch, environment: ["XDG_RUNTIME_DIR": ""])
        #expect(finished.status == .exited(0), "\(finished.stderr.suffix(1500))")
        #expect(finished.stderr.contains("running without a control socket"), "\(finished.stderr.suffix(1500))")
        // Asked for by name, the same failure ends the run.
        let named = try runToEnd(ringmasterPath, ["run", manifest, "--control", deep + "/control.sock"], in: scratch)
        #expect(named.status == .exited(3), "\(named.stderr.suffix(1500))")
    }

    @Test func aWorkerAddedByReloadWritesItsLogFile() throws {
        let run = try Self.start(Self.manifest(Self.forever("same")), expecting: ["same.0"])
        run.scratch.write("manifest.yaml", Self.manifest(Self.forever("same") + """
              talk:
                command: /bin/sh
                args: ["-c", "echo hello from a reloaded worker; sleep 600"]
                log: { path: talk.log }
            """))
        let applied = try Self.ctl(["reload"], run)
        #expect(applied.status == .exited(0), "\(applied.stderr)")
        #expect(run.awaitLog("[talk.0] hello from a reloaded worker"))
        #expect(run.scratch.read("talk.log").contains("talk.0 stdout hello from a reloaded worker"), "\(run.scratch.read("talk.log"))")
        _ = try Self.ctl(["shutdown"], run)
        #expect(run.finish() == .exited(0))
    }

    @Test func noSupervisorMeansExit3WithTheSocketNamed() throws {
        let scratch = Scratch()
        let finished = try runToEnd(ringmasterPath, ["status", "--control", scratch.file("none.sock")], in: scratch)
        #expect(finished.status == .exited(3))
        #expect(finished.stderr.contains("cannot reach the supervisor at \(scratch.file("none.sock"))"))
        #expect(finished.stderr.contains("no supervisor is running there"))
    }
}
