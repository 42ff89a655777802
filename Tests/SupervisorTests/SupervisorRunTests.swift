import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// `ringmaster run` end to end: real worker processes, real rings, the jsonl consumer's file.
@Suite(.serialized) struct SupervisorRunTests {
    @Test(arguments: ["memfd", "posix"])
    func poolOfThreeDeliversEveryRecordOnce(kind: String) throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              channel: { kind: \(kind), ring: 64KiB, max_record: 4KiB }
            workers:
              numbers:
                command: ringmaster-test-producer
                args: ["--records", "20000", "--max-size", "200", "--batch"]
                instances: 3
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """, in: scratch)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        let delivered = readDelivered(scratch.read("out.jsonl"))
        #expect(delivered.count == 60_000)
        for instance in 0..<3 {
            let mine = delivered.filter { $0.instance == instance }
            #expect(mine.map(\.payloadSequence) == (0..<20_000).map { UInt64?($0) }, "instance \(instance)")
            #expect(mine.map(\.seq) == Array(0..<20_000))
        }
    }

    @Test func crashingWorkersResumeWithNoGapAndNoDuplicate() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              restart: { policy: on-failure, backoff: { initial: 5ms, max: 50ms }, budget: { restarts: 100, within: 1m } }
            workers:
              crashy:
                command: ringmaster-test-producer
                args: ["--records", "3000", "--checkpoint-every", "100", "--crash-after", "333", "--crash-generations", "6"]
                instances: 2
                format: bytes
                to: [file, stats]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
              stats: { plugin: stats }
            """, in: scratch)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        let delivered = readDelivered(scratch.read("out.jsonl"))
        for instance in 0..<2 {
            let mine = delivered.filter { $0.instance == instance }
            #expect(mine.map(\.payloadSequence) == (0..<3000).map { UInt64?($0) }, "instance \(instance): no gap, no duplicate")
            #expect(Set(mine.map(\.generation)) == Set(0...6), "instance \(instance) ran as generations 0 to 6")
        }
        #expect(run.stderr.contains("restarting crashy.0"))
        #expect(run.stdout.contains("crashy: 6000 records"))
        #expect(run.stdout.contains("12 restarts"))
    }

    @Test func neverPolicyFailureEndsTheRunWithStatusOne() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              once:
                command: ringmaster-test-producer
                args: ["--records", "3", "--exit-code", "3"]
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(1))
        #expect(run.stderr.contains("once.0 failed: exit 3 and restart policy is never"))
        #expect(!run.stderr.contains("restarting once.0"))
    }

    @Test func successUnderOnFailureFinishesWithoutRestart() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              job:
                command: ringmaster-test-producer
                args: ["--records", "10"]
            consumers: {}
            """)
        #expect(run.finish() == .exited(0))
        #expect(run.stderr.contains("job.0 finished"))
        #expect(!run.stderr.contains("restarting"))
    }

    @Test func usedUpRestartBudgetFailsTheWorker() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              doomed:
                command: ringmaster-test-producer
                args: ["--records", "100", "--crash-after", "5"]
                restart: { policy: always, backoff: { initial: 1ms, max: 5ms }, budget: { restarts: 3, within: 1m } }
            consumers: {}
            """)
        #expect(run.finish() == .exited(1))
        #expect(run.stderr.components(separatedBy: "restarting doomed.0").count - 1 == 3)
        #expect(run.stderr.contains("doomed.0 failed: SIGKILL; restart budget of 3 within 60.0s used up"))
    }

    @Test func workerIgnoringSIGTERMIsKilledAfterGrace() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              stubborn:
                command: ringmaster-test-producer
                args: ["--forever", "--sleep-ms", "20", "--ignore-term"]
                stop: { signal: TERM, grace: 300ms }
              polite:
                command: ringmaster-test-producer
                args: ["--forever", "--sleep-ms", "20"]
                restart: { policy: always }
            consumers: {}
            """)
        #expect(run.awaitLog("started stubborn.0") && run.awaitLog("started polite.0"))
        // "started" means spawned: wait until the worker really ignores SIGTERM (SigIgn in /proc).
        let stubborn = startedPIDs(in: run.stderr.components(separatedBy: "\n").filter { $0.contains("stubborn.0") }.joined(separator: "\n"))
        #expect(stubborn.count == 1)
        var ignoring = false
        for _ in 0..<500 where !ignoring {
            ignoring = stubborn.first.map(ignoresSIGTERM) ?? false
            if !ignoring { usleep(10_000) }
        }
        #expect(ignoring, "the stubborn worker never ignored SIGTERM")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0))
        #expect(run.stderr.contains("stubborn.0 still running after its grace period: SIGKILL"))
        #expect(run.stderr.contains("how=SIGKILL [Supervisor] stubborn.0 exited") || run.stderr.contains("stubborn.0 exited"))
        #expect(!run.stderr.contains("restarting polite.0"), "no restart during shutdown")
    }

    @Test func killingTheSupervisorEndsEveryWorker() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              busy:
                command: ringmaster-test-producer
                args: ["--forever"]
                instances: 2
                to: [sink]
              idle:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "600000"]
            consumers:
              sink: { plugin: stats }
            """)
        #expect(run.awaitLog("started busy.1") && run.awaitLog("started idle.0") && run.awaitLog("started busy.0"))
        let pids = startedPIDs(in: run.stderr)
        #expect(pids.count == 3)
        run.process.kill(SIGKILL)
        run.process.wait()
        // The lifeline pipe's write end died with the supervisor: busy and idle workers exit.
        #expect(awaitGone(pids, limit: 5), "workers still alive: \(pids.filter { !processIsGone($0) })")
    }

    @Test func hostileWorkerIsQuarantinedWhileAHealthyOneKeepsDelivering() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              evil:
                command: ringmaster-test-producer
                args: ["--records", "1000", "--corrupt-after", "100"]
                format: bytes
                restart: { policy: on-failure, backoff: { initial: 5ms }, budget: { restarts: 2, within: 1m } }
                to: [file]
              good:
                command: ringmaster-test-producer
                args: ["--records", "50000", "--max-size", "100"]
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """, in: scratch)
        #expect(run.finish() == .exited(1), "the evil worker used up its budget")
        let quarantines = run.stderr.components(separatedBy: "quarantining evil.0: record at 0x").count - 1
        #expect(quarantines == 3)
        #expect(run.stderr.contains("length 9000000 exceeds max record 262144"))
        let delivered = readDelivered(scratch.read("out.jsonl"))
        let good = delivered.filter { $0.worker == "good" }
        #expect(good.map(\.payloadSequence) == (0..<50_000).map { UInt64?($0) })
        // Records the evil worker committed before each violation are delivered, once each.
        let evil = delivered.filter { $0.worker == "evil" }.compactMap(\.payloadSequence)
        #expect(evil == Array(0..<300))
        #expect(run.stderr.contains("good.0 finished"))
    }

    @Test func workerOutputIsLoggedLineByLineWithItsName() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              chatty:
                command: /bin/sh
                args: ["-c", "echo hello from stdout; echo oops >&2; printf 'no newline'; exit 0"]
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(0))
        #expect(run.stderr.contains("[chatty.0] hello from stdout"))
        #expect(run.stderr.contains("[chatty.0] oops"))
        #expect(run.stderr.contains("[chatty.0] no newline"))
    }

    @Test func lastLinesOfACrashedWorkerAreLogged() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              doomed:
                command: /bin/sh
                args: ["-c", "echo last words; printf 'and a partial line'; kill -9 $$"]
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(1))
        let log = run.stderr
        let lastWords = log.range(of: "[doomed.0] last words")
        let partial = log.range(of: "[doomed.0] and a partial line")
        let exited = log.range(of: "doomed.0 exited")
        #expect(lastWords != nil && partial != nil && exited != nil)
        if let lastWords, let partial, let exited {
            #expect(lastWords.lowerBound < exited.lowerBound && partial.lowerBound < exited.lowerBound, "output comes before the exit")
        }
        #expect(log.contains("how=SIGKILL"))
    }

    @Test func nextStartSweepsNamesOfAKilledSupervisor() throws {
        let manifest = """
            version: 1
            defaults:
              channel: { kind: posix, ring: 64KiB, max_record: 1KiB }
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "600000"]
            consumers: {}
            """
        let first = try SupervisorRun(manifest: manifest)
        #expect(first.awaitLog("started w.0"))
        let pid = first.process.pid
        first.process.kill(SIGKILL)
        first.process.wait()
        let leftover = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter {
            $0.contains("ringmaster.\(pid).")
        }
        #expect(leftover.count == 3, "segment and two semaphores left behind: \(leftover)")
        let second = try SupervisorRun(manifest: """
            version: 1
            workers:
              quick:
                command: ringmaster-test-producer
                args: ["--records", "1"]
            consumers: {}
            """)
        #expect(second.finish() == .exited(0))
        #expect(second.stderr.contains("removed stale shared-memory names"))
        let remaining = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter {
            $0.contains("ringmaster.\(pid).")
        }
        #expect(remaining.isEmpty, "still there: \(remaining)")
    }

    @Test func validateReportsEveryConsumerErrorToo() throws {
        let scratch = Scratch()
        let path = scratch.write("consumers.yaml", """
            version: 1
            workers:
              w: { command: ringmaster-test-producer, to: [a, b, c, d] }
            consumers:
              a: { plugin: sqlit }
              b: { plugin: stats, interval: soon }
              c: { plugin: jsonl, colour: red }
              d: { plugin: stdot }
            """)
        let validate = try SupervisorRun(scratch, ["validate", path])
        #expect(validate.finish() == .exited(2))
        let lines = validate.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(path):5:16: consumers.a.plugin names an unknown plugin 'sqlit': no libsqlit.so in \(binaryDirectory)/plugins, \(binaryDirectory); did you mean 'sqlite'?",
            "\(path):6:33: consumers.b.interval must be a positive duration such as 5s (got 'soon')",
            "\(path):7:31: consumers.c.colour is not a setting of the jsonl consumer (it takes flush_interval, keep, path, rotate)",
            "\(path):8:16: consumers.d.plugin names an unknown plugin 'stdot': no libstdot.so in \(binaryDirectory)/plugins, \(binaryDirectory); did you mean 'stdout'?",
        ])
    }

    @Test func relativeJSONLinesPathIsBesideTheManifest() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "7"]
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: relative.jsonl }
            """, in: scratch)
        #expect(run.finish() == .exited(0))
        #expect(readDelivered(scratch.read("relative.jsonl")).count == 7)
    }

    @Test func jsonLinesRotatesBySizeAndKeepsTheNewestFiles() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "3000", "--max-size", "40", "--sleep-ms", "0"]
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: out.jsonl, rotate: 16KiB, keep: 2, flush_interval: 100ms }
            """, in: scratch)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(1500))")
        let files = ["out.jsonl.2", "out.jsonl.1", "out.jsonl"].map { readDelivered(scratch.read($0)) }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("out.jsonl.3")), "only two rotated files kept")
        #expect(files.allSatisfy { !$0.isEmpty })
        let sequences = files.flatMap { $0.map(\.seq) }
        #expect(sequences.last == 2999, "the newest file ends with the last record")
        #expect(sequences == Array(sequences.first!...2999), "oldest to newest: contiguous, in order")
        #expect(sequences.first! > 0, "older files were rotated out")
        for name in ["out.jsonl.2", "out.jsonl.1"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: scratch.file(name))[.size] as? Int) ?? 0
            #expect(size > 0 && size <= 16 * 1024, "\(name) is \(size) bytes")
        }
    }

    @Test func closedStandardOutputDoesNotKillTheSupervisor() throws {
        let scratch = Scratch()
        let path = scratch.write("manifest.yaml", """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "20000"]
                to: [out]
            consumers:
              out: { plugin: stdout }
            """)
        var fds: [CInt] = [-1, -1]
        #expect(pipe(&fds) == 0)
        close(fds[0])   // nobody will ever read: writes get EPIPE (or SIGPIPE if not ignored)
        let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let process = try SpawnedProcess.spawn(ringmasterPath, ["run", path], stdoutTo: fds[1], stderrTo: err)
        close(fds[1])
        close(err)
        var status: RingmasterTestSupport.ExitStatus?
        for _ in 0..<3000 where status == nil {
            status = process.poll()
            usleep(10_000)
        }
        if status == nil { process.kill(SIGKILL) }
        // Every write fails: the batch is retried (on_error: retry), then the route stops, and
        // the run ends with status 4 (a consumer stopped) instead of dying of SIGPIPE.
        #expect(status == .exited(4), "stderr: \(scratch.read("stderr.txt").suffix(1500))")
        #expect(scratch.read("stderr.txt").contains("consumer out failed"))
        #expect(scratch.read("stderr.txt").contains("consumer out stopped after an error"))
    }

    @Test func escapedDescendantsAndTheirChildrenDieWithTheRun() throws {
        // A worker that starts a new session (setsid) with children of its own, then exits.
        let marker = 900_000 + Int(getpid() % 90_000)
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              escaper:
                command: /bin/sh
                args: ["-c", "setsid sh -c 'sleep \(marker) & sleep \(marker + 1)' & sleep 0.2; exit 0"]
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(0))
        var survivors: [String] = []
        for _ in 0..<200 {
            survivors = sleepers(marker)
            if survivors.isEmpty { break }
            usleep(10_000)
        }
        #expect(survivors.isEmpty, "still running: \(survivors)")
    }

    /// `sleep N` processes for either marker value, from /proc.
    private func sleepers(_ marker: Int) -> [String] {
        let wanted = ["sleep\0\(marker)\0", "sleep\0\(marker + 1)\0"]
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            guard Int(pid) != nil, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let text = String(decoding: data, as: UTF8.self)
            guard wanted.contains(text) else { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return !stat.contains(") Z ")
        }
    }

    @Test func invalidManifestIsRejectedWithPositions() throws {
        let scratch = Scratch()
        let path = scratch.write("bad.yaml", """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                instances: 0
                to: [nowhere]
            consumers: {}
            """)
        let validate = try SupervisorRun(scratch, ["validate", path])
        #expect(validate.finish() == .exited(2))
        #expect(validate.stderr.contains("bad.yaml:5:16"))
        #expect(validate.stderr.contains("instances"))
        #expect(validate.stderr.contains("nowhere"))
        let run = try SupervisorRun(scratch, ["run", path])
        #expect(run.finish() == .exited(2))
        #expect(run.stderr.contains("bad.yaml:5:16"))
    }
}
