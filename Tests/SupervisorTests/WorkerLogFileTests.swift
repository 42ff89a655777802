import Foundation
import Glibc
import TestHarness
import Testing

/// One line of a worker's log file, split into its four fields.
struct LogFileLine: Hashable {
    let timestamp: String
    let label: String
    let stream: String
    let text: String

    /// Parses `<timestamp> <worker>.<instance> <stream> <text>`; nil when a field is missing.
    init?(_ line: Substring) {
        let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        (timestamp, label, stream, text) = (String(fields[0]), String(fields[1]), String(fields[2]), String(fields[3]))
    }

    /// RFC 3339, UTC, milliseconds: `2026-11-28T23:44:11.042Z`.
    var hasRFC3339Timestamp: Bool {
        timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
    }
}

/// The lines of a log file (every line must end with a newline).
func logFileLines(_ text: String) -> [LogFileLine] {
    #expect(text.isEmpty || text.hasSuffix("\n"), "a log file holds whole lines")
    return text.split(separator: "\n").map { line in
        let parsed = LogFileLine(line)
        #expect(parsed != nil, "not a log line: \(line)")
        return parsed ?? LogFileLine("? ? ? ?")!
    }
}

/// `ringmaster run` with workers' `log` files: the line format, rotation, SIGUSR1.
@Suite(.serialized) struct WorkerLogFileTests {
    @Test func everyOutputLineGoesToTheWorkersFileAndStillToTheLog() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: /bin/sh
                args: ["-c", "echo out-$RINGMASTER_INSTANCE; echo err-$RINGMASTER_INSTANCE >&2; printf 'last %s' $RINGMASTER_INSTANCE"]
                instances: 2
                log: { path: w.log }
            """, in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let lines = logFileLines(scratch.read("w.log"))
        #expect(lines.allSatisfy { $0.hasRFC3339Timestamp })
        #expect(Set(lines.map { "\($0.label) \($0.stream) \($0.text)" }) == [
            "w.0 stdout out-0", "w.0 stderr err-0", "w.0 stdout last 0",
            "w.1 stdout out-1", "w.1 stderr err-1", "w.1 stdout last 1",
        ])
        #expect(lines.count == 6)
        // Within one stream of one instance the order is kept.
        let zeroOut = lines.filter { $0.label == "w.0" && $0.stream == "stdout" }.map(\.text)
        #expect(zeroOut == ["out-0", "last 0"])
        #expect(finished.stderr.contains("[w.0] out-0") && finished.stderr.contains("[w.1] err-1"))
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.file("w.log"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.uint32Value == 0o644 & ~currentUmask())
    }

    /// 400 lines of 87 bytes into 4 KiB files: many rotations. The files hold the newest lines,
    /// whole, in order, without a gap, and there are never more than `keep` rotated ones.
    @Test(arguments: [0, 3])
    func rotationKeepsTheNewestLinesInAtMostKeepFiles(keep: Int) throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: /bin/sh
                args: ["-c", "seq -f 'line %04g ........................................' 1 400"]
                log: { path: w.log, max_size: 4KiB, keep: \(keep) }
            """, in: scratch)
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr.suffix(2000))")
        let files = ["w.log"] + (0..<keep).map { "w.log.\($0 + 1)" }
        for name in files {
            #expect(FileManager.default.fileExists(atPath: scratch.file(name)), "\(name) exists")
            #expect(scratch.data(name).count <= 4096, "\(name) is within max_size")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("w.log.\(keep + 1)")), "never more than keep")
        let oldestFirst = files.reversed().flatMap { logFileLines(scratch.read($0)) }
        let numbers = oldestFirst.map { Int($0.text.dropFirst("line ".count).prefix(4)) ?? -1 }
        #expect(numbers.last == 400)
        #expect(numbers == Array((401 - numbers.count)...400), "the newest lines, in order, no gap")
        // Each line is 87 bytes: a rotated file holds the 47 that fit, the newest what is left.
        for name in files.dropFirst() { #expect(logFileLines(scratch.read(name)).count == 4096 / 87, "\(name) is full") }
        #expect(logFileLines(scratch.read("w.log")).count == 400 % (4096 / 87))
    }

    /// logrotate's way: rename the file, then SIGUSR1. Until the signal, lines go on into the
    /// renamed file; after it, into a new file at the path. None is lost or doubled.
    @Test func sigusr1ReopensTheFileAtItsPath() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
              ticker:
                command: /bin/sh
                args: ["-c", "i=0; while [ $i -lt 1000 ]; do echo tick $i; i=$((i+1)); sleep 0.05; done"]
                log: { path: ticker.log }
            """, in: scratch)
        #expect(scratch.awaitLines("ticker.log", atLeast: 3))
        #expect(rename(scratch.file("ticker.log"), scratch.file("ticker.log.old")) == 0)
        let moved = scratch.read("ticker.log.old").filter { $0 == "\n" }.count
        #expect(scratch.awaitLines("ticker.log.old", atLeast: moved + 2), "lines go on into the renamed file")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("ticker.log")))
        run.process.kill(SIGUSR1)
        #expect(scratch.awaitLines("ticker.log", atLeast: 3), "a new file at the path")
        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0), "stderr: \(run.stderr.suffix(2000))")
        #expect(run.stderr.contains("SIGUSR1: reopening the workers' log files"))
        let old = logFileLines(scratch.read("ticker.log.old"))
        let new = logFileLines(scratch.read("ticker.log"))
        let ticks = (old + new).map { Int($0.text.dropFirst("tick ".count)) ?? -1 }
        #expect(ticks == Array(0..<ticks.count), "no tick lost or written twice")
        #expect(old.count >= moved + 2 && new.count >= 3)
    }

    @Test func theExampleManifestIsValid() throws {
        let finished = try runToEnd(ringmasterPath, ["validate", packageRoot + "/examples/worker-logs.yaml"], in: Scratch())
        #expect(finished.status == .exited(0), "stderr: \(finished.stderr)")
    }

    @Test func aFileThatCannotBeOpenedIsLoggedOnceAndTheRunGoesOn() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: """
            version: 1
            workers:
              w:
                command: /bin/sh
                args: ["-c", "echo one; echo two; echo three"]
                log: { path: no-such-dir/w.log }
            """, in: scratch)
        #expect(finished.status == .exited(0))
        let path = scratch.file("no-such-dir/w.log")
        let message = "w: cannot open log file \(path): open(\(path)): No such file or directory"
        #expect(finished.stderr.components(separatedBy: message).count - 1 == 1, "stderr: \(finished.stderr.suffix(2000))")
        #expect(finished.stderr.contains("[w.0] three"))
    }
}
