import Foundation
import Glibc
import Manifest
import RingmasterTestSupport
import Supervisor
import TestHarness
import Testing

/// `stall_timeout` end to end: a producer that goes silent is stopped and restarted as stalled;
/// heartbeats, a full ring behind a slow consumer and an ended stream are not stalls. Asserts
/// events and counts, never durations; the timeouts are short and the overall limits generous.
@Suite(.serialized) struct StallTests {
    @Test(arguments: ["memfd", "posix"])
    func silentProducerIsRestartedAsStalledWithNoLossOrDuplicate(kind: String) throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              channel: { kind: \(kind) }
              restart: { policy: on-failure, backoff: { initial: 5ms, max: 50ms } }
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "2000", "--checkpoint-every", "100", "--stall-after", "750", "--crash-generations", "1"]
                format: bytes
                stall_timeout: 300ms
                to: [file, stats]
            consumers:
              file: { plugin: jsonl, path: out.jsonl }
              stats: { plugin: stats }
            """, in: scratch)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        let log = run.stderr
        #expect(log.contains("w.0 stalled: nothing committed for 300ms"), "stderr: \(log.suffix(2000))")
        #expect(log.contains("how=stalled after 300ms"), "the exit is logged as a stall")
        #expect(log.contains("after=stalled after 300ms"), "the restart says why")
        #expect(log.contains("w.0 finished"))
        // The consumers' exit event says it stalled (stats lists the exits it was told of).
        let exits = run.stdout.split(separator: "\n").first { $0.contains("last exits:") }.map(String.init) ?? ""
        #expect(exits.contains("w.0 stalled after 300ms"), "stdout: \(run.stdout)")
        #expect(exits.hasSuffix("w.0 exit 0"), "the last run ended normally: \(exits)")
        // The silent generation's records and the resumed one's: each exactly once, in order.
        let delivered = readDelivered(scratch.read("out.jsonl"))
        #expect(delivered.map(\.payloadSequence) == (0..<2000).map { UInt64?($0) })
        #expect(delivered.map(\.seq) == Array(0..<2000))
        #expect(delivered.first?.generation == 0 && delivered.last.map { $0.generation >= 1 } == true)
        #expect(delivered.prefix(750).allSatisfy { $0.generation == 0 }, "750 records before the silence")
    }

    @Test func stallUnderNeverFailsTheRunAfterTheStopSignalAndGrace() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              stuck:
                command: ringmaster-test-producer
                args: ["--records", "100", "--stall-after", "10", "--ignore-term"]
                stall_timeout: 300ms
                stop: { signal: TERM, grace: 200ms }
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(1), "stderr: \(run.stderr.suffix(2000))")
        let log = run.stderr
        #expect(log.contains("stuck.0 stalled: nothing committed for 300ms"))
        #expect(log.contains("grace=200ms stop=SIGTERM"), "the stop is logged with the stall: \(log.suffix(1500))")
        #expect(log.contains("stuck.0 still running after its grace period: SIGKILL"), "it ignores SIGTERM")
        #expect(log.contains("stuck.0 failed: stalled after 300ms and restart policy is never"))
        #expect(!log.contains("restarting stuck.0"))
    }

    @Test func heartbeatsKeepAQuietProducerAlive() throws {
        let scratch = Scratch()
        // Quiet for about five stall timeouts, with a heartbeat every 50 ms, then end of stream.
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              quiet:
                command: ringmaster-test-producer
                args: ["--records", "50", "--linger-ms", "3000", "--heartbeat-ms", "50"]
                format: bytes
                stall_timeout: 600ms
                to: [file]
            consumers:
              file: { plugin: jsonl, path: out.jsonl }
            """, in: scratch, extra: ["--log-level", "debug"])
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        let log = run.stderr
        #expect(log.contains("quiet.0: stall watch armed for 600ms"))
        #expect(!log.contains("stalled"), "stderr: \(log.suffix(2000))")
        #expect(!log.contains("restarting quiet.0"))
        #expect(log.contains("quiet.0 finished"))
        #expect(readDelivered(scratch.read("out.jsonl")).map(\.seq) == Array(0..<50))
    }

    @Test func theSameQuietProducerWithoutHeartbeatsStalls() throws {
        // The control for the test above: same silence, no heartbeats, stream not ended.
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              quiet:
                command: ringmaster-test-producer
                args: ["--records", "50", "--no-finish", "--linger-ms", "3000"]
                stall_timeout: 600ms
                restart: { policy: never }
            consumers: {}
            """)
        #expect(run.finish() == .exited(1), "stderr: \(run.stderr.suffix(2000))")
        #expect(run.stderr.contains("quiet.0 stalled: nothing committed for 600ms"))
        #expect(run.stderr.contains("quiet.0 failed: stalled after 600ms and restart policy is never"))
    }

    @Test func aProducerThatEndedItsStreamIsNotJudged() throws {
        // Nothing may follow end-of-stream, not even a heartbeat: lingering after it is no stall.
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              done:
                command: ringmaster-test-producer
                args: ["--records", "50", "--linger-ms", "2000"]
                stall_timeout: 500ms
                restart: { policy: never }
            consumers: {}
            """, extra: ["--log-level", "debug"])
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(!run.stderr.contains("stalled"))
        #expect(run.stderr.contains("done.0: end of stream seen; stall watch stops"))
        #expect(run.stderr.contains("done.0 finished"))
    }

    @Test func producerBlockedBehindASlowConsumerIsNotRestarted() throws {
        let scratch = Scratch()
        // The exec consumer's program reads nothing for 3 s: its pipe, its queue and then the
        // small ring fill, and the producer waits for space for many stall timeouts.
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              channel: { ring: 16KiB, max_record: 1KiB }
            workers:
              busy:
                command: ringmaster-test-producer
                args: ["--records", "20000", "--max-size", "64"]
                format: bytes
                stall_timeout: 500ms
                to: [slow, file]
            consumers:
              slow: { plugin: exec, command: /bin/sh, args: ["-c", "sleep 3; cat > /dev/null"] }
              file: { plugin: jsonl, path: out.jsonl }
            """, in: scratch, extra: ["--log-level", "debug"])
        #expect(run.finish(limit: 120) == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        let log = run.stderr
        #expect(log.contains("busy.0: stall watch armed for 500ms"))
        // The watch looked while the producer was blocked, and held its clock.
        #expect(log.contains("; stall clock held"), "stderr: \(log.suffix(2000))")
        #expect(!log.contains("stalled"), "stderr: \(log.suffix(2000))")
        #expect(!log.contains("restarting busy.0"))
        #expect(log.contains("busy.0 finished"))
        let delivered = readDelivered(scratch.read("out.jsonl"))
        #expect(delivered.map(\.payloadSequence) == (0..<20_000).map { UInt64?($0) })
    }

    @Test func workerWithoutStallTimeoutArmsNoTimerAndStaysIdle() throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              restart: { policy: on-failure }
            workers:
              idle:
                command: ringmaster-test-producer
                args: ["--records", "0", "--no-finish", "--linger-ms", "600000"]
                to: [sink]
            consumers:
              sink: { plugin: discard }
            """, extra: ["--log-level", "debug"])
        defer { run.killIfRunning() }
        try #require(run.awaitLog("started idle.0"), "stderr: \(run.stderr.suffix(2000))")
        let settled = try #require(awaitQuiet(run.process.pid), "the supervisor never went quiet")
        usleep(1_000_000)
        let after = try #require(contextSwitches(of: run.process.pid))
        #expect(after.switches - settled.switches <= 3,
                "\(after.switches - settled.switches) context switches in 1 s of idling (\(after.threads) threads)")
        #expect(!run.stderr.contains("stall watch"), "no stall timer for a worker without stall_timeout")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(!run.stderr.contains("stalled"))
    }

}

/// A stall as the restart policy sees it: a failure, with or without success exit codes.
@Suite struct StallPolicyTests {
    static let stalled = ExitReason.stalled(after: .seconds(30))

    @Test func theReasonSaysStalledAfterTheTimeout() {
        #expect("\(Self.stalled)" == "stalled after 30s")
        #expect("\(ExitReason.stalled(after: .milliseconds(300)))" == "stalled after 300ms")
    }

    @Test(arguments: [(RestartPolicyKind.always, "restart"), (.onFailure, "restart"), (.never, "failed")])
    func aStallIsAFailureUnderEveryPolicy(policy: RestartPolicyKind, expected: String) {
        // Even with every code a success: a stall is no exit code.
        var planner = RestartPlanner(PolicyTests.spec(policy: policy, success: Set(0...255)))
        var generator = SeededGenerator(seed: 1)
        switch planner.decide(exit: Self.stalled, startedAt: 0, now: PolicyTests.second, using: &generator) {
        case .restart: #expect(expected == "restart")
        case .finished: Issue.record("a stall never finishes an instance")
        case .failed(let why):
            #expect(expected == "failed")
            #expect(why == "stalled after 30s and restart policy is never")
        }
    }

    @Test func stallsSpendTheRestartBudget() {
        var planner = RestartPlanner(PolicyTests.spec(policy: .always, restarts: 2, within: .seconds(60)))
        var generator = SeededGenerator(seed: 1)
        let s = PolicyTests.second
        for t in [1, 2] as [UInt64] {
            if case .restart = planner.decide(exit: Self.stalled, startedAt: t * s - 1, now: t * s, using: &generator) {} else {
                Issue.record("stall \(t) should restart")
            }
        }
        #expect(planner.recentRestarts.count == 2)
        if case .failed(let why) = planner.decide(exit: Self.stalled, startedAt: 3 * s - 1, now: 3 * s, using: &generator) {
            #expect(why == "stalled after 30s; restart budget of 2 within 60.0s used up")
        } else {
            Issue.record("the third stall inside 60 s must fail")
        }
    }
}
