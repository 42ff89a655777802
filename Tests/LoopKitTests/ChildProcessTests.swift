import Glibc
import LoopKit
import SystemKit
import Testing

/// Real children: output, exits, descriptors, environment, process groups. Serialized because the
/// tests send signals (to their own children only).
@Suite(.serialized) struct ChildProcessTests {
    @Test func everyLineArrivesBeforeTheExit() throws {
        let run = try ChildRun.run(shell("echo one; echo two >&2; printf tail; exit 3"))
        #expect(run.stdout == ["one", "tail"])
        #expect(run.stderr == ["two"])
        #expect(run.exit == .exited(3))
        #expect(!run.outputAfterExit)
    }

    @Test func outputWrittenAfterTheProcessExitedStillComesFirst() throws {
        // The shell is reaped at once; a background subshell writes its line later and then closes
        // the pipe. Without a drain grace the exit must wait for that EOF, whatever the timing.
        let run = try ChildRun.run(shell("echo early; (sleep 0.2; echo late) & exit 5") {
            $0.outputDrainGrace = nil
        })
        #expect(run.stdout == ["early", "late"])
        #expect(run.exit == .exited(5))
        #expect(!run.outputAfterExit)
    }

    @Test func manyLinesArriveInOrder() throws {
        let run = try ChildRun.run(shell("seq 1 20000"))
        #expect(run.stdout == (1...20000).map(String.init))
        #expect(run.exit == .exited(0))
    }

    @Test func killedChildReportsTheSignal() throws {
        var child: ChildProcess?
        let run = try ChildRun.run(SpawnOptions(executable: "/bin/sleep", arguments: ["30"]), started: {
            child = $0
            #expect($0.kill(.kill))
        })
        #expect(run.exit == .signaled(.kill))
        #expect(child?.exitStatus == .signaled(.kill))
        #expect(child?.kill(.terminate) == false, "a reaped child's pid is not signalled")
    }

    @Test func inheritedDescriptorsArriveAtTheirNumbers() throws {
        let first = try makePipe(), second = try makePipe()
        defer { [first.read, first.write, second.read, second.write].forEach { $0.close() } }
        try write("A", to: first.write)
        try write("B", to: second.write)
        // The gaps (4, 5) and 7 are open in the child only if this process holds them without
        // close-on-exec (libuv's documented fork/exec behaviour): expect exactly that.
        let gaps: [CInt] = [4, 5, 7]
        let leaked = gaps.filter { fd in
            let flags = fcntl(fd, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }
        let script = """
            head -c 1 <&3; head -c 1 <&6; echo
            for n in \(gaps.map(String.init).joined(separator: " ")); do [ -e /proc/self/fd/$n ] && echo "open $n"; done
            [ -e /proc/self/fd/0 ] && readlink /proc/self/fd/0
            exit 0
            """
        let run = try ChildRun.run(shell(script) {
            $0.inherited = [(source: first.read, target: 3), (source: second.read, target: 6)]
        })
        #expect(run.stdout == ["AB"] + leaked.map { "open \($0)" } + ["/dev/null"])
        #expect(run.stderr == [])
        #expect(run.exit == .exited(0))
    }

    @Test func descriptorAlreadyAtItsTargetIsInherited() throws {
        // A source whose number equals its target only loses close-on-exec in the child.
        let pipe = try makePipe()
        defer { pipe.read.close(); pipe.write.close() }
        try write("same\n", to: pipe.write)
        let target = pipe.read.rawValue
        // Through /proc: dash's `<&N` takes single-digit descriptors only, and N is often ≥ 10.
        let run = try ChildRun.run(shell("head -n 1 /proc/self/fd/\(target)") {
            $0.inherited = [(source: pipe.read, target: target)]
        })
        #expect(run.stdout == ["same"])
        #expect(run.exit == .exited(0))
    }

    @Test func environmentIsExactlyWhatWasPassed() throws {
        let environment = ["ALPHA": "1", "WITH_SPACES": "two words", "EMPTY": "", "UNICODE": "grüße"]
        let run = try ChildRun.run(SpawnOptions(executable: "/usr/bin/env", environment: environment))
        #expect(run.stdout.sorted() == environment.map { "\($0.key)=\($0.value)" }.sorted())
        #expect(run.exit == .exited(0))
    }

    @Test func bareNameIsFoundOnTheChildsPath() throws {
        let options = SpawnOptions(executable: "echo", arguments: ["found"], environment: ["PATH": "/nonexistent:/usr/bin:/bin"])
        let run = try ChildRun.run(options)
        #expect(run.stdout == ["found"])
        #expect(run.exit == .exited(0))
    }

    @Test func argv0AndWorkingDirectoryAreApplied() throws {
        // With `sh -c script` and no further argument, $0 is argv[0].
        let run = try ChildRun.run(shell("echo \"$0\"; pwd") {
            $0.argv0 = "renamed-worker"
            $0.workingDirectory = "/tmp"
        })
        #expect(run.stdout == ["renamed-worker", "/tmp"])
    }

    @Test func newProcessGroupMakesTheChildLeadItsGroupAndSession() throws {
        // /proc/PID/stat fields 5 and 6 are the process group and the session.
        let script = "read -r pid comm state ppid pgrp session rest < /proc/$$/stat; echo \"$pgrp $session\""
        let grouped = try ChildRun.run(shell(script) { $0.newProcessGroup = true })
        #expect(grouped.stdout == ["\(grouped.pid) \(grouped.pid)"])
        let plain = try ChildRun.run(shell(script))
        #expect(plain.stdout.count == 1)
        #expect(plain.stdout.first != "\(plain.pid) \(plain.pid)")
    }

    @Test func killGroupReachesAGrandchild() throws {
        var grandchild: Int32 = 0
        // No drain grace: the exit is reported only once the grandchild, which holds stdout, is gone.
        let options = shell("sleep 30 & echo $!; wait") {
            $0.newProcessGroup = true
            $0.outputDrainGrace = nil
        }
        let run = try ChildRun.run(options, onLine: { child, _, line in
            grandchild = Int32(line) ?? 0
            #expect(child.killGroup(.terminate))
        })
        #expect(grandchild > 0)
        #expect(run.exit == .signaled(.terminate))
        // Its descriptors close while it dies, a moment before it is a zombie: wait (bounded) for that.
        #expect(waitUntilGone(grandchild), "grandchild \(grandchild) still running")
    }

    @Test func outputHeldOpenByADescendantDoesNotHoldTheExitForever() throws {
        // The shell exits at once; its background child keeps stdout open for 30 s.
        let options = shell("sleep 30 & echo $!; echo bye >&2; exit 4") {
            $0.newProcessGroup = true
            $0.outputDrainGrace = .milliseconds(50)
        }
        var child: ChildProcess?
        let run = try ChildRun.run(options, started: { child = $0 })
        #expect(run.exit == .exited(4))
        #expect(run.stderr == ["bye"])
        #expect(run.stdout.count == 1)
        #expect(!run.outputAfterExit)
        // The group outlives its leader while the sleep runs: killGroup still reaches it.
        #expect(child?.killGroup(.kill) == true)
    }

    @Test func floodWithoutNewlineStaysWithinTheLineLimit() throws {
        let run = try ChildRun.run(shell("head -c 1048576 /dev/zero | tr '\\0' x"))
        let lengths = run.stdout.map(\.utf8.count)
        #expect(lengths.allSatisfy { $0 <= 16384 })
        #expect(lengths.reduce(0, +) == 1 << 20)
        #expect(lengths.count == 64)
        #expect(run.exit == .exited(0))
    }

    @Test func loopTeardownLeavesARunningChildAlone() throws {
        var child: ChildProcess?
        var exits = 0
        do {
            let loop = try Loop()
            child = try ChildProcess.spawn(
                loop: loop, options: SpawnOptions(executable: "/bin/sleep", arguments: ["30"]),
                onOutput: { _, _ in }, onExit: { _ in exits += 1 })
            #expect(loop.runOnce(nowait: true), "the child keeps the loop alive")
        }
        // The loop closed the child's handles without reaping it: it is still ours to signal and reap.
        let pid = try #require(child?.pid)
        #expect(child?.exitStatus == nil)
        #expect(child?.kill(.kill) == true)
        var status: CInt = 0
        let reaped = try valueOrErrno("waitpid") { waitpid(pid, &status, 0) }
        #expect(reaped == pid)
        #expect(exits == 0, "no callback after teardown")
    }

    @Test func missingExecutableThrowsENOENT() throws {
        let loop = try Loop()
        let options = SpawnOptions(executable: "/nonexistent/ringmaster-worker")
        #expect {
            _ = try ChildProcess.spawn(loop: loop, options: options, onOutput: { _, _ in }, onExit: { _ in })
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.errno == .noSuchFile && error.executable == options.executable
                && "\(error)" == "cannot start /nonexistent/ringmaster-worker: no such file or directory (ENOENT)"
        }
        loop.run()  // the failed spawn's handles close without leaving anything active
    }

    @Test func missingWorkingDirectoryThrows() throws {
        let loop = try Loop()
        let options = SpawnOptions(executable: "/bin/true", workingDirectory: "/nonexistent/dir")
        #expect(throws: SpawnError.self) {
            _ = try ChildProcess.spawn(loop: loop, options: options, onOutput: { _, _ in }, onExit: { _ in })
        }
    }

    @Test(arguments: [
        SpawnOptions(executable: "/bin/true", inherited: [(source: FileDescriptor(rawValue: 0), target: 2)]),
        SpawnOptions(executable: "/bin/true", inherited: [
            (source: FileDescriptor(rawValue: 0), target: 3), (source: FileDescriptor(rawValue: 1), target: 3),
        ]),
        SpawnOptions(executable: "/bin/true", environment: ["A=B": "c"]),
        SpawnOptions(executable: "/bin/true", arguments: ["nul\u{0}byte"]),
        SpawnOptions(executable: ""),
    ])
    func invalidOptionsAreRefusedBeforeSpawning(_ options: SpawnOptions) throws {
        let loop = try Loop()
        #expect {
            _ = try ChildProcess.spawn(loop: loop, options: options, onOutput: { _, _ in }, onExit: { _ in })
        } throws: { error in
            (error as? SpawnError)?.errno == .invalidArgument
        }
    }
}
