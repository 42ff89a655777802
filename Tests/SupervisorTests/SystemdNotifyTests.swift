import Foundation
import Glibc
import RingmasterTestSupport
import Supervisor
import TestHarness
import Testing

/// `ringmaster run` under a stand-in for systemd: the sd_notify messages on a test-side socket
/// (`NotifyListener`), checked by count and order, never by time.
@Suite(.serialized) struct SystemdNotifyTests {
    /// A pool of test producers that attach, then linger until stopped.
    static func lingering(_ instances: Int) -> String {
        """
        version: 1
        workers:
          w:
            command: ringmaster-test-producer
            args: ["--records", "0", "--linger-ms", "600000"]
            instances: \(instances)
        consumers: {}
        """
    }

    @Test func readyAfterEveryInstanceAttachedThenStoppingOnSIGTERM() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let run = try SupervisorRun(manifest: Self.lingering(3), in: scratch, environment: ["NOTIFY_SOCKET": listener.address])
        defer { run.killIfRunning() }
        try #require(listener.await { $0.contains("READY=1") }, "no READY=1: \(listener.assignments); \(run.stderr.suffix(2000))")
        // Logged before READY=1 was sent, so already in the file.
        #expect(run.stderr.contains("started w.2"))
        #expect(run.stderr.contains("attached=3 settled=0 unattached=0"), "\(run.stderr.suffix(2000))")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        try #require(listener.await { $0.contains("STATUS=stopping: no instance running, 3 stopped") }, "\(listener.assignments)")
        let got = listener.assignments
        // By datagram: the status may arrive on its own or with READY=1 (when the producers
        // attached before the coalesced status went out).
        let messages = listener.messages
        let running = try #require(messages.firstIndex { $0.contains("STATUS=3 of 3 instances running") }, "\(messages)")
        let ready = try #require(messages.firstIndex { $0.contains("READY=1") })
        #expect(running <= ready && ready < messages.firstIndex { $0.contains("STOPPING=1") }!, "\(messages)")
        let stopping = try #require(got.firstIndex(of: "STOPPING=1"))
        #expect(got.filter { $0 == "READY=1" }.count == 1)
        #expect(got.filter { $0 == "STOPPING=1" }.count == 1)
        #expect(got[stopping + 1] == "STATUS=stopping: 3 of 3 instances still running", "\(got)")
        #expect(!got.contains("WATCHDOG=1"), "no WATCHDOG_USEC, no pings")
        // A line is sent only when it changes.
        let statuses = got.filter { $0.hasPrefix("STATUS=") }
        #expect(zip(statuses, statuses.dropFirst()).allSatisfy { $0 != $1 }, "\(statuses)")
    }

    @Test func statusNamesTheRestartThenTheFailure() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "3", "--exit-code", "1"]
                restart: { policy: on-failure, backoff: { initial: 100ms, max: 100ms }, budget: { restarts: 1, within: 1m } }
            consumers: {}
            """, in: scratch, environment: ["NOTIFY_SOCKET": listener.address])
        #expect(run.finish() == .exited(1), "stderr: \(run.stderr.suffix(2000))")
        try #require(listener.await { $0.contains("STOPPING=1") }, "\(listener.assignments)")
        let got = listener.assignments
        let restarting = try #require(got.firstIndex(of: "STATUS=0 of 1 instance running; w.0 restarting after exit 1"), "\(got)")
        let failed = try #require(got.firstIndex { $0.hasPrefix("STATUS=") && $0.contains("1 failed; w.0 failed: exit 1; restart budget of 1") },
                                  "\(got)")
        #expect(restarting < failed)
        // The run ended by itself: READY=1 (every instance settled, at the latest) before STOPPING=1, which is last.
        let ready = try #require(got.firstIndex(of: "READY=1"))
        #expect(got.filter { $0 == "READY=1" }.count == 1)
        #expect(ready < got.firstIndex(of: "STOPPING=1")!)
        #expect(listener.messages.last?.first == "STOPPING=1", "\(listener.messages)")
    }

    /// With the watchdog on (`WATCHDOG_PID` unset, or naming the supervisor), a run of about a
    /// second at WATCHDOG_USEC=200000 pings every 100 ms.
    @Test(arguments: [false, true])
    func watchdogPingsWhenItIsOurs(namePID: Bool) throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let manifest = scratch.write("manifest.yaml", """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "1000"]
            consumers: {}
            """)
        // `exec` keeps the shell's pid, so $$ is the supervisor's pid.
        let script = namePID ? "WATCHDOG_PID=$$ exec \"$0\" run \"$1\"" : "exec \"$0\" run \"$1\""
        let finished = try runToEnd("/bin/sh", ["-c", script, ringmasterPath, manifest], in: scratch,
                                    environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "200000"])
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        try #require(listener.await { $0.contains("STOPPING=1") }, "\(listener.assignments)")
        let got = listener.assignments
        #expect(got.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(got)")
        // A ping is a message of its own.
        #expect(listener.messages.filter { $0.contains("WATCHDOG=1") }.allSatisfy { $0 == ["WATCHDOG=1"] })
        #expect(got.firstIndex(of: "READY=1")! < got.firstIndex(of: "STOPPING=1")!)
    }

    @Test func noWatchdogWhenWatchdogPIDNamesAnotherProcess() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "1000"]
            consumers: {}
            """, in: scratch, environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        try #require(listener.await { $0.contains("STOPPING=1") }, "\(listener.assignments)")
        #expect(listener.assignments.contains("READY=1"))
        #expect(!listener.assignments.contains("WATCHDOG=1"), "\(listener.assignments)")
    }

    @Test func abstractNamespaceAddress() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(abstractName: "ringmaster-test-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        #expect(listener.address.hasPrefix("@"))
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "10"]
            consumers: {}
            """, in: scratch, environment: ["NOTIFY_SOCKET": listener.address])
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        try #require(listener.await { $0.contains("STOPPING=1") }, "\(listener.assignments)")
        let got = listener.assignments
        #expect(got.firstIndex(of: "READY=1")! < got.firstIndex(of: "STOPPING=1")!, "\(got)")
        #expect(!finished.stderr.contains("cannot notify systemd"))
    }

    @Test func workersDoNotSeeTheNotifyVariables() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: /bin/sh
                args: ["-c", "echo \\"notify=$NOTIFY_SOCKET\\"; echo \\"watchdog=$WATCHDOG_USEC$WATCHDOG_PID\\""]
            consumers: {}
            """, in: scratch, environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let lines = finished.stderr.split(separator: "\n")
        #expect(lines.contains { $0.hasSuffix("[w.0] notify=") }, "\(finished.stderr)")
        #expect(lines.contains { $0.hasSuffix("[w.0] watchdog=") }, "\(finished.stderr)")
        // The supervisor itself still talked to the socket.
        try #require(listener.await { $0.contains("STOPPING=1") }, "\(listener.assignments)")
        #expect(listener.assignments.contains("READY=1"))
    }

    /// A socket nobody listens on, or an address this client does not speak: the run is not
    /// affected, and one warning says so.
    @Test(arguments: ["missing.sock", "relative.sock", "vsock:2:1234"])
    func unreachableSocketDoesNotBreakTheRun(address: String) throws {
        let scratch = Scratch()
        let value = address == "missing.sock" ? scratch.file(address) : address
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "100"]
                instances: 2
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """, in: scratch, environment: ["NOTIFY_SOCKET": value, "WATCHDOG_USEC": "20000"])
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        #expect(readDelivered(scratch.read("out.jsonl")).count == 200)
        #expect(finished.stderr.components(separatedBy: "cannot notify systemd").count - 1 == 1, "\(finished.stderr)")
    }

    /// A program that never attaches holds READY=1 back only for the attach grace.
    @Test func plainProgramDoesNotHoldReadinessBackForever() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              plain:
                command: /bin/sh
                args: ["-c", "exec sleep 600"]
              sdk:
                command: ringmaster-test-producer
                args: ["--records", "0", "--linger-ms", "600000"]
            consumers: {}
            """, in: scratch, environment: ["NOTIFY_SOCKET": listener.address])
        defer { run.killIfRunning() }
        try #require(listener.await { $0.contains("READY=1") }, "\(listener.assignments); \(run.stderr.suffix(2000))")
        #expect(run.stderr.contains("attached=1 settled=0 unattached=1"), "\(run.stderr.suffix(2000))")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
    }

    /// Once READY=1 is sent (and without a watchdog) the supervisor is as quiet as without systemd.
    @Test func readySupervisorMakesNoWakeUps() throws {
        let scratch = Scratch()
        let listener = try NotifyListener(path: scratch.file("notify.sock"))
        let run = try SupervisorRun(manifest: Self.lingering(2), in: scratch, environment: ["NOTIFY_SOCKET": listener.address])
        defer { run.killIfRunning() }
        try #require(listener.await { $0.contains("READY=1") }, "\(listener.assignments); \(run.stderr.suffix(2000))")
        var settled = try #require(contextSwitches(of: run.process.pid))
        for _ in 0..<50 {
            usleep(200_000)
            let now = try #require(contextSwitches(of: run.process.pid))
            if now == settled { break }
            settled = now
        }
        let sent = listener.messages.count
        usleep(1_000_000)
        let after = try #require(contextSwitches(of: run.process.pid))
        #expect(after.switches - settled.switches <= 3, "\(after.switches - settled.switches) context switches in 1 s after READY=1")
        #expect(listener.messages.count == sent, "\(listener.messages)")
    }
}

/// The parts that need no process: the environment, the readiness rule, the status line.
@Suite struct SystemdPolicyTests {
    static let pid: Int32 = 4242

    @Test(arguments: [
        (["NOTIFY_SOCKET": "/run/systemd/notify"], SystemdEnvironment(address: .path("/run/systemd/notify"))),
        (["NOTIFY_SOCKET": "@sd-notify"], SystemdEnvironment(address: .abstract("sd-notify"))),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000"], SystemdEnvironment(address: .path("/n"), watchdogInterval: .milliseconds(100))),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "4242"],
         SystemdEnvironment(address: .path("/n"), watchdogInterval: .milliseconds(100))),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"], SystemdEnvironment(address: .path("/n"))),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"], SystemdEnvironment(address: .path("/n"))),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "soon"], SystemdEnvironment(address: .path("/n"))),
    ])
    func environmentIsReadAsSystemdWritesIt(environment: [String: String], expected: SystemdEnvironment) throws {
        #expect(try SystemdEnvironment.parse(environment, pid: Self.pid) == expected)
    }

    @Test func unusableAddressesAreProblemsAndAbsenceIsNone() throws {
        #expect(try SystemdEnvironment.parse([:], pid: Self.pid) == nil)
        #expect(try SystemdEnvironment.parse(["NOTIFY_SOCKET": "", "WATCHDOG_USEC": "1000"], pid: Self.pid) == nil)
        for value in ["relative", "@", "vsock:2:1234"] {
            #expect(throws: SystemdEnvironment.Problem.unsupportedAddress(value)) {
                try SystemdEnvironment.parse(["NOTIFY_SOCKET": value], pid: Self.pid)
            }
        }
        let long = "/" + String(repeating: "x", count: 107)
        #expect(throws: SystemdEnvironment.Problem.addressTooLong(long)) { try SystemdEnvironment.parse(["NOTIFY_SOCKET": long], pid: Self.pid) }
        #expect(try SystemdEnvironment.parse(["NOTIFY_SOCKET": String(long.dropLast())], pid: Self.pid) != nil)
    }

    @Test func readinessRule() {
        let second: UInt64 = 1_000_000_000
        typealias View = SystemdInstanceView
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .running, attached: true)) == .attached)
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .running, attached: false, runningFor: second)) == nil)
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .running, attached: false, runningFor: 2 * second)) == .unattached)
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .restarting(after: "exit 1"), runningFor: 9 * second)) == nil)
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .exited, attached: true)) == nil)
        #expect(SystemdReadiness.up(View(label: "w.0", phase: .starting)) == nil)
        for phase in [View.Phase.finished, .failed("exit 3"), .stopped] {
            #expect(SystemdReadiness.up(View(label: "w.0", phase: phase)) == .settled)
        }
    }

    @Test func statusLine() {
        typealias View = SystemdInstanceView
        func views(_ phases: [View.Phase]) -> [View] { phases.enumerated().map { View(label: "w.\($0)", phase: $1) } }
        #expect(SystemdStatus.line(views([.running, .running, .running]), stopping: false) == "3 of 3 instances running")
        #expect(SystemdStatus.line(views([.running]), stopping: false) == "1 of 1 instance running")
        #expect(SystemdStatus.line(views([.running, .restarting(after: "exit 1"), .running]), stopping: false)
                == "2 of 3 instances running; w.1 restarting after exit 1")
        #expect(SystemdStatus.line(views([.finished, .failed("exit 3 and restart policy is never"), .running]), stopping: false)
                == "1 of 3 instances running, 1 finished, 1 failed; w.1 failed: exit 3 and restart policy is never")
        #expect(SystemdStatus.line(views([.running, .stopped, .exited]), stopping: true) == "stopping: 2 of 3 instances still running, 1 stopped")
        #expect(SystemdStatus.line(views([.stopped, .stopped]), stopping: true) == "stopping: no instance running, 2 stopped")
        let many = views(Array(repeating: .restarting(after: "SIGKILL"), count: 5))
        #expect(SystemdStatus.line(many, stopping: false).hasSuffix("; w.2 restarting after SIGKILL; and 2 more"))
        #expect(!SystemdStatus.line(views([.failed("line one\nline two")]), stopping: false).contains("\n"))
    }
}
