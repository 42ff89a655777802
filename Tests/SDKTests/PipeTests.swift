import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// `ringmaster-pipe` under `ringmaster run`: framing, long items, exit statuses, resume after a
/// restart, signal forwarding and the lifeline. Records are read back from the jsonl consumer.
@Suite(.serialized) struct PipeTests {
    // MARK: throughput and order

    @Test func aMillionLinesArriveInOrderEachOnceThroughASmallRing() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(["--", "seq", "1", "1000000"], channel: "{ ring: 64KiB, max_record: 4KiB }", in: scratch),
                                      in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        #expect(finished.stderr.contains("end-of-stream=true how=exit 0 [Supervisor] p.0 finished"))
        // Compared line by line with what the jsonl consumer writes for record i: no parsing of
        // a million JSON objects, and any gap, duplicate or reordering shows as a mismatch.
        var count = 0
        var firstMismatch: String? = nil
        for line in scratch.read("out.jsonl").split(separator: "\n") {
            if firstMismatch == nil,
               line != "{\"worker\":\"p\",\"instance\":0,\"generation\":0,\"seq\":\(count),\"type\":1,\"data\":\"\(count + 1)\"}" {
                firstMismatch = "line \(count + 1): \(line)"
            }
            count += 1
        }
        #expect(count == 1_000_000)
        #expect(firstMismatch == nil)
    }

    // MARK: framing

    /// A command line and the payloads it must give, ring of 4 KiB, max record 16 bytes.
    struct FramingCase: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let payloads: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let framingCases: [FramingCase] = [
        FramingCase(arguments: ["printf", "a\\nb\\n\\nlast"], payloads: ["a", "b", "", "last"]),
        FramingCase(arguments: ["printf", "a\\r\\nb\\n"], payloads: ["a\r", "b"]),
        FramingCase(arguments: ["--keep-delimiter", "printf", "a\\nb"], payloads: ["a\n", "b"]),
        FramingCase(arguments: ["--null", "--", "printf", "x\\0y\\0\\0z"], payloads: ["x", "y", "", "z"]),
        FramingCase(arguments: ["--null", "--keep-delimiter", "printf", "x\\0y\\n"], payloads: ["x\u{0}", "y\n"]),
        FramingCase(arguments: ["--chunk", "3", "printf", "abcdefgh"], payloads: ["abc", "def", "gh"]),
        FramingCase(arguments: ["--chunk", "16", "printf", "%040d", "7"],
                    payloads: ["0000000000000000", "0000000000000000", "00000007"]),
        // One byte per read: every record spans reads.
        FramingCase(arguments: ["--batch-bytes", "1", "printf", "one\\ntwo\\n\\nthree"], payloads: ["one", "two", "", "three"]),
        // A kept delimiter takes a byte of the record: 16 characters and a \n are two records.
        FramingCase(arguments: ["--keep-delimiter", "printf", "0123456789abcdef\\nz\\n"], payloads: ["0123456789abcdef", "\n", "z\n"]),
        // Long items arriving a few bytes per read: split, and truncate dropping a rest that spans reads.
        FramingCase(arguments: ["--batch-bytes", "5", "printf", "0123456789abcdef0123456789abcdefXY\\nok"],
                    payloads: ["0123456789abcdef", "0123456789abcdef", "XY", "ok"]),
        FramingCase(arguments: ["--batch-bytes", "3", "--long", "truncate", "--null", "printf", "0123456789abcdef0123456789abcdefXY\\0ok\\0"],
                    payloads: ["0123456789abcdef", "ok"]),
        FramingCase(arguments: ["true"], payloads: []),
    ]

    @Test(arguments: framingCases)
    func framing(_ framing: FramingCase) throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(framing.arguments, in: scratch), in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        #expect(Self.delivered(scratch).map(\.data) == framing.payloads)
        #expect(finished.stderr.contains("end-of-stream=true how=exit 0 [Supervisor] p.0 finished"))
    }

    @Test func standardInputWithoutACommand() throws {
        let scratch = Scratch()
        let pipe = binaryDirectory + "/ringmaster-pipe"
        let finished = try ringmaster(manifest: Self.manifest(["-c", "printf 'a\\nb\\n\\nlast' | \"$0\" --type 0x2A", pipe],
                                                              command: "/bin/sh", in: scratch), in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let records = Self.delivered(scratch)
        #expect(records.map(\.data) == ["a", "b", "", "last"])
        #expect(records.allSatisfy { $0.type == 42 })
        #expect(finished.stderr.contains("end-of-stream=true how=exit 0 [Supervisor] p.0 finished"))
    }

    // MARK: items longer than max record

    /// "ok", 34 characters, 32 (twice max record), "short", 17; max record 16.
    static let longInput = ["sh", "-c", "printf '%s\\n' ok 0123456789abcdef0123456789abcdefXY 0123456789abcdef0123456789abcdef short 0123456789abcdefZ"]
    static let sixteen = "0123456789abcdef"

    @Test func longLinesAreSplitIntoMaxRecordPieces() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(Self.longInput, in: scratch), in: scratch)
        #expect(Self.delivered(scratch).map(\.data) == ["ok", Self.sixteen, Self.sixteen, "XY", Self.sixteen, Self.sixteen, "short", Self.sixteen, "Z"])
        #expect(finished.stderr.components(separatedBy: "line 2 is longer than max record (16 bytes): split into records of 16 bytes").count == 2,
                "one warning: \(finished.stderr.suffix(2000))")
        #expect(!finished.stderr.contains("line 3 is longer"))
    }

    @Test func longLinesAreTruncatedOnRequest() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(["--long", "truncate"] + Self.longInput, in: scratch), in: scratch)
        #expect(Self.delivered(scratch).map(\.data) == ["ok", Self.sixteen, Self.sixteen, "short", Self.sixteen])
        #expect(finished.stderr.contains("line 2 is longer than max record (16 bytes): cut to its first 16 bytes"))
    }

    @Test func aLongLineFailsOnRequest() throws {
        let scratch = Scratch()
        // The command sleeps after its output: ringmaster-pipe must not wait for it.
        let sleeping = Self.longInput.dropLast() + [Self.longInput.last! + "; exec sleep 30"]
        let finished = try ringmaster(manifest: Self.manifest(["--long", "fail"] + sleeping, in: scratch), in: scratch, limit: 20)
        #expect(finished.status == .exited(1))
        #expect(Self.delivered(scratch).map(\.data) == ["ok"])
        #expect(finished.stderr.contains("ringmaster-pipe: line 2 is longer than the ring's max record (16 bytes) and --long is fail"))
        #expect(finished.stderr.contains("p.0 failed: exit 1"))
    }

    // MARK: exit statuses

    @Test(arguments: [(["sh", "-c", "echo x; exit 3"], 3), (["sh", "-c", "echo x; kill -USR1 $$"], 128 + 10), (["sh", "-c", "echo x"], 0)])
    func theCommandsExitStatusIsTheWorkers(_ arguments: [String], _ status: Int) throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(arguments, in: scratch), in: scratch)
        #expect(finished.status == .exited(status == 0 ? 0 : 1))
        #expect(finished.stderr.contains("how=exit \(status) [Supervisor] p.0 exited"), "stderr: \(finished.stderr.suffix(2000))")
        #expect(Self.delivered(scratch).map(\.data) == ["x"], "the output before the exit is delivered")
        if status != 0 { #expect(finished.stderr.contains("p.0 failed: exit \(status) and restart policy is never")) }
    }

    @Test(arguments: [("no-such-command-4711", "No such file or directory (ENOENT)"), ("/etc/passwd", "Permission denied (EACCES)")])
    func aCommandThatCannotStartExits127(_ command: String, _ reason: String) throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest([command, "x"], in: scratch), in: scratch)
        #expect(finished.status == .exited(1))
        #expect(finished.stderr.contains("ringmaster-pipe: cannot run \(command): \(reason)"), "stderr: \(finished.stderr.suffix(2000))")
        #expect(finished.stderr.contains("how=exit 127 [Supervisor] p.0 exited"))
    }

    @Test(arguments: [(["--bogus"], "unknown option --bogus"), (["--chunk", "0", "true"], "--chunk needs an integer from 1"),
                      (["--lines", "--null"], "--lines and --null exclude each other"), (["--long", "maybe"], "--long must be split, truncate or fail"),
                      (["--chunk", "4", "--keep-delimiter"], "--keep-delimiter needs --lines or --null"), (["--type", "0xF001"], "--type needs an integer from 1 to 61439"),
                      (["--"], "-- must be followed by a command")])
    func usageErrorsExit2(_ arguments: [String], _ message: String) throws {
        let scratch = Scratch()
        let finished = try runToEnd(binaryDirectory + "/ringmaster-pipe", arguments, in: scratch)
        #expect(finished.status == .exited(2))
        #expect(finished.stderr.hasPrefix("ringmaster-pipe: \(message)"), "stderr: \(finished.stderr)")
        #expect(finished.stderr.contains("usage: ringmaster-pipe"))
    }

    @Test func helpAndTheSupervisorCheck() throws {
        let scratch = Scratch()
        let help = try runToEnd(binaryDirectory + "/ringmaster-pipe", ["--help"], in: scratch)
        #expect(help.status == .exited(0))
        #expect(help.stdout.contains("usage: ringmaster-pipe"))
        let alone = try runToEnd(binaryDirectory + "/ringmaster-pipe", ["true"], in: scratch)
        #expect(alone.status == .exited(2))
        #expect(alone.stderr.contains("RINGMASTER_SEGMENT is not set"))
        let tooBig = try ringmaster(manifest: Self.manifest(["--chunk", "17", "true"], in: scratch), in: scratch)
        #expect(tooBig.stderr.contains("ringmaster-pipe: --chunk 17 is larger than the ring's max record (16 bytes)"))
        #expect(tooBig.stderr.contains("how=exit 2 [Supervisor] p.0 exited"))
    }

    // MARK: resume

    /// Generations 0, 1 and 2 print the first 7000, 14000, 21000 numbers and fail; generation 3
    /// prints 30000 and succeeds. Deterministic, so skipping what was delivered is exactly-once.
    static let failingThrice = ["sh", "-c", "g=$RINGMASTER_GENERATION; if [ \"$g\" -lt 3 ]; then seq 1 $(( (g + 1) * 7000 )); exit 1; fi; seq 1 30000"]
    static let quickRestarts = "{ policy: on-failure, backoff: { initial: 5ms, max: 20ms }, budget: { restarts: 10, within: 1m } }"

    @Test func aRestartSkipsWhatWasDelivered() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(Self.failingThrice, channel: "{ ring: 64KiB, max_record: 4KiB }",
                                                              restart: Self.quickRestarts, in: scratch), in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let records = Self.delivered(scratch)
        #expect(records.map(\.data) == (1...30000).map(String.init), "every line once, in order")
        #expect(records.map(\.seq) == Array(0..<30000))
        #expect(Set(records.map(\.generation)) == [0, 1, 2, 3])
        #expect(finished.stderr.contains("restart: skipping the first 7000 records, already delivered"))
        #expect(finished.stderr.contains("restart: skipping the first 21000 records, already delivered"))
    }

    @Test func noResumeDeliversEverythingAgain() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: Self.manifest(["--no-resume"] + Self.failingThrice, channel: "{ ring: 64KiB, max_record: 4KiB }",
                                                              restart: Self.quickRestarts, in: scratch), in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let expected = [7000, 14000, 21000, 30000].flatMap { (1...$0).map(String.init) }
        #expect(Self.delivered(scratch).map(\.data) == expected)
        #expect(finished.stderr.contains("restart: delivering the input from its start again (--no-resume)"))
    }

    @Test func sigkillMidStreamThenRestartDeliversEveryLineOnce() throws {
        let scratch = Scratch()
        // 100 blocks of 1000 numbers with a pause after each: slow enough to be killed mid-way.
        let slow = ["sh", "-c", "i=0; while [ $i -lt 100 ]; do seq $((i * 1000 + 1)) $((i * 1000 + 1000)); i=$((i + 1)); sleep 0.01; done"]
        let run = try SupervisorRun(manifest: Self.manifest(slow, channel: "{ ring: 64KiB, max_record: 4KiB }", restart: Self.quickRestarts, in: scratch),
                                    in: scratch)
        let pid = try #require(run.workerPID("p.0"))
        var waited = 0
        while Self.fileSize(scratch.file("out.jsonl")) < 100_000 && waited < 2000 && run.process.poll() == nil {
            usleep(5_000)
            waited += 1
        }
        #expect(kill(pid, SIGKILL) == 0)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(run.stderr.contains("how=SIGKILL [Supervisor] p.0 exited"), "killed mid-stream")
        let records = Self.delivered(scratch)
        #expect(records.map(\.data) == (1...100_000).map(String.init), "every line once, in order")
        #expect(Set(records.map(\.generation)) == [0, 1])
        #expect(run.stderr.contains("restart: skipping the first"))
    }

    // MARK: signals and the lifeline

    @Test func theSupervisorsShutdownStopsTheCommand() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: Self.manifest(["sleep", "1000"], stop: "{ signal: TERM, grace: 60s }", in: scratch), in: scratch)
        let command = try Self.commandPID(run)
        run.process.kill(SIGTERM)
        #expect(run.finish(limit: 30) == .exited(0))
        #expect(run.stderr.contains("how=exit 143 [Supervisor] p.0 exited"), "sleep ended by SIGTERM: \(run.stderr.suffix(2000))")
        #expect(!run.stderr.contains("still running after its grace period"))
        #expect(processIsGone(command))
    }

    @Test func aSignalToRingmasterPipeAloneIsForwarded() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: Self.manifest(["sleep", "1000"], in: scratch), in: scratch)
        let command = try Self.commandPID(run)
        let pipe = try #require(run.workerPID("p.0"))
        #expect(kill(pipe, SIGTERM) == 0)
        #expect(run.finish(limit: 30) == .exited(1))
        #expect(run.stderr.contains("p.0 failed: exit 143 and restart policy is never"), "stderr: \(run.stderr.suffix(2000))")
        #expect(awaitGone([command], limit: 5))
        if !processIsGone(command) { kill(command, SIGKILL) }
    }

    @Test func theCommandEndsWhenTheSupervisorDies() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: Self.manifest(["sleep", "1000"], in: scratch), in: scratch)
        let command = try Self.commandPID(run)
        let pipe = try #require(run.workerPID("p.0"))
        run.process.kill(SIGKILL)
        _ = run.process.wait()
        _ = awaitGone([command, pipe], limit: 10)
        #expect(processIsGone(pipe), "ringmaster-pipe left with the lifeline")
        #expect(processIsGone(command), "and took the command with it")
        if !processIsGone(command) { kill(command, SIGKILL) }
    }

    // MARK: helpers

    /// One record as the jsonl consumer wrote it (`format: text`).
    struct Delivered {
        let generation: Int
        let seq: Int
        let type: Int
        let data: String
    }

    /// A manifest with one worker `p` running ringmaster-pipe (or `command`) with `arguments`,
    /// its records to `out.jsonl` in `scratch`.
    static func manifest(_ arguments: [String], command: String = "ringmaster-pipe", channel: String = "{ ring: 4KiB, max_record: 16B }",
                         restart: String = "{ policy: never }", stop: String = "{ signal: TERM, grace: 5s }",
                         in scratch: Scratch) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let list = String(decoding: try! encoder.encode(arguments), as: UTF8.self)
        return """
            version: 1
            defaults:
              channel: \(channel)
              restart: \(restart)
              stop: \(stop)
            workers:
              p:
                command: \(command)
                args: \(list)
                format: text
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """
    }

    static func delivered(_ scratch: Scratch) -> [Delivered] {
        scratch.read("out.jsonl").split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Delivered(generation: object["generation"] as? Int ?? -1, seq: object["seq"] as? Int ?? -1,
                             type: object["type"] as? Int ?? -1, data: object["data"] as? String ?? "<not text>")
        }
    }

    /// The pid of the command ringmaster-pipe started (its only child), once it runs.
    static func commandPID(_ run: SupervisorRun) throws -> pid_t {
        let pipe = try #require(run.workerPID("p.0"))
        for _ in 0..<1000 {
            let children = (try? String(contentsOfFile: "/proc/\(pipe)/task/\(pipe)/children", encoding: .utf8)) ?? ""
            if let child = children.split(separator: " ").first.flatMap({ pid_t($0) }) { return child }
            usleep(10_000)
        }
        throw PipeTestError(description: "ringmaster-pipe \(pipe) started no command")
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    struct PipeTestError: Error, CustomStringConvertible {
        let description: String
    }
}
