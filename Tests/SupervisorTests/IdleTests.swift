import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// An idle supervisor does not wake up: no polling timers, no periodic checks. Counted as
/// context switches of its threads (the kernel's count), not timed.
@Suite(.serialized) struct IdleTests {
    @Test(arguments: ["memfd", "posix"])
    func idleSupervisorMakesNoWakeUps(kind: String) throws {
        let run = try SupervisorRun(manifest: """
            version: 1
            defaults:
              channel: { kind: \(kind), ring: 64KiB, max_record: 4KiB }
            workers:
              idle:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "600000"]
                to: [sink, counts]
            consumers:
              sink: { plugin: discard }
              counts: { plugin: stats }
            """)
        defer { run.killIfRunning() }
        try #require(run.awaitLog("started idle.0"), "stderr: \(run.stderr.suffix(2000))")
        // The worker attaches, ends its stream and sleeps; the supervisor drains that and goes quiet.
        let settled = try #require(awaitQuiet(run.process.pid), "the supervisor never went quiet")
        usleep(1_000_000)
        let after = try #require(contextSwitches(of: run.process.pid))
        // The loop thread and one thread per consumer (plus rm-semwait for posix), all asleep.
        #expect(after.threads == settled.threads)
        #expect(after.switches - settled.switches <= 3,
                "\(after.switches - settled.switches) context switches in 1 s of idling (\(after.threads) threads)")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(run.stdout.contains("idle: 0 records"))
    }

}

/// Waits (up to 10 s) until the process's threads made no context switch for 200 ms; returns the
/// count then, or nil if it never went quiet.
func awaitQuiet(_ pid: pid_t) -> (switches: UInt64, threads: Int)? {
    var last = contextSwitches(of: pid)
    for _ in 0..<50 {
        usleep(200_000)
        let now = contextSwitches(of: pid)
        if let now, let previous = last, now == previous { return now }
        last = now
    }
    return nil
}

/// Voluntary plus involuntary context switches of every thread of `pid`, and its thread count
/// (from /proc/PID/task/*/status); nil when the process is gone.
func contextSwitches(of pid: pid_t) -> (switches: UInt64, threads: Int)? {
    let directory = "/proc/\(pid)/task"
    guard let tids = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
    var total: UInt64 = 0
    for tid in tids {
        guard let status = try? String(contentsOfFile: "\(directory)/\(tid)/status", encoding: .utf8) else { continue }
        for line in status.split(separator: "\n")
        where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            total += UInt64(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        }
    }
    return (total, tids.count)
}
