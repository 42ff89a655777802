import Foundation
import RingmasterTestSupport
import TestHarness
import Testing

/// Python consumers through `exec` under `ringmaster run`: counts, a child that dies mid-stream,
/// binary frames, a command that cannot be found, and a restart budget that runs out.
@Suite(.serialized) struct ExecRunTests {
    /// Reads stdin unbuffered and logs "pid seq" for every complete line it read; after `limit`
    /// lines, the first child (no marker file yet) exits 3. It loses nothing it read completely,
    /// so with the journal's resend every seq is logged exactly once.
    static let dyingConsumer = """
        import json, os, sys
        log_path, marker, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
        seen, pending = 0, b""
        with open(log_path, "a") as log:
            while True:
                chunk = os.read(0, 65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\\n")
                for line in lines:
                    log.write(f"{os.getpid()} {json.loads(line)['seq']}\\n")
                    seen += 1
                log.flush()
                if seen >= limit and not os.path.exists(marker):
                    open(marker, "w").close()
                    os._exit(3)
        """

    /// Decodes binary frames (docs/PLUGINS.md) and writes one line per frame.
    static let frameDecoder = """
        import struct, sys
        data = sys.stdin.buffer.read()
        out, i = open(sys.argv[1], "w"), 0
        while i < len(data):
            (n,) = struct.unpack_from("<I", data, i)
            h, kind, fmt, wl, inst, gen, seq = struct.unpack_from("<HHHHIQQ", data, i + 4)
            worker = data[i + 32:i + 32 + wl].decode()
            out.write(f"{worker} {inst} {gen} {seq} {kind} {fmt} {data[i + 4 + h:i + 4 + n].hex()}\\n")
            i += 4 + n
        sys.exit(0 if i == len(data) else 5)
        """

    @Test func pythonExampleCountsEveryRecord() throws {
        let scratch = Scratch()
        let script = packageRoot + "/examples/python-consumer/count.py"
        let manifest = execManifest(records: 20_000, consumer: "command: python3, args: [\"\(script)\", \"\(scratch.file("count.txt"))\"]")
        let run = try ringmaster(manifest: manifest, in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(scratch.read("count.txt") == "w: 20000 records\nw.0: 20000 distinct seq\n", "\(run.stderr)")
    }

    @Test func exampleManifestRuns() throws {
        let scratch = Scratch()
        var text = try String(contentsOfFile: packageRoot + "/examples/python-consumer/manifest.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "command: ./count.py", with: "command: \(packageRoot)/examples/python-consumer/count.py")
        let run = try ringmaster(manifest: text, in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(run.stdout.contains("numbers: 40000 records\nnumbers.0: 20000 distinct seq\nnumbers.1: 20000 distinct seq\n"), "\(run.stdout)")
    }

    @Test func aChildThatDiesMidStreamIsRestartedAndNothingIsLost() throws {
        let scratch = Scratch()
        let script = scratch.write("dying.py", Self.dyingConsumer)
        let consumer = """
            command: python3, args: ["\(script)", "\(scratch.file("log.txt"))", "\(scratch.file("marker"))", "5000"], \
            restart: { backoff: { initial: 10ms, max: 50ms } }
            """
        let run = try ringmaster(manifest: execManifest(records: 20_000, consumer: consumer), in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.file("marker")))
        #expect(run.stderr.contains("ended with exit 3; restarting in"), "\(run.stderr)")
        let entries = scratch.read("log.txt").split(separator: "\n").map { $0.split(separator: " ") }
        let pids = Set(entries.map { $0[0] })
        let sequences = entries.compactMap { Int($0[1]) }
        #expect(pids.count == 2, "two children should have logged records")
        // Every seq reached a child; what the first child read completely is not resent.
        #expect(Set(sequences) == Set(0..<20_000))
        #expect(sequences.count == 20_000, "duplicates: \(sequences.count - Set(sequences).count)")
    }

    @Test func binaryFramesDecodeToTheSentRecords() throws {
        let scratch = Scratch()
        let script = scratch.write("frames.py", Self.frameDecoder)
        let consumer = "command: python3, args: [\"\(script)\", \"\(scratch.file("frames.txt"))\"], format: binary"
        let run = try ringmaster(manifest: execManifest(records: 3000, consumer: consumer), in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        let lines = scratch.read("frames.txt").split(separator: "\n")
        #expect(lines.count == 3000)
        for (index, line) in lines.enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7 else { Issue.record("bad line \(line)"); return }
            #expect(Array(fields[0...3]) == ["w", "0", "0", "\(index)"])
            #expect(fields[5] == "0", "format bytes")
            let payload = stride(from: 0, to: fields[6].count, by: 2).map { offset -> UInt8 in
                let start = fields[6].index(fields[6].startIndex, offsetBy: offset)
                return UInt8(fields[6][start..<fields[6].index(start, offsetBy: 2)], radix: 16)!
            }
            let verified = payload.withUnsafeBytes { TestRecord.verify($0) }
            #expect(verified == UInt64(index), "payload of seq \(index)")
        }
    }

    @Test func aCommandThatCannotBeFoundIsAPositionedStartupError() throws {
        let scratch = Scratch()
        let onPath = execManifest(records: 10, consumer: "command: no-such-program-4711")
        for command in ["validate", "run"] {
            let result = try ringmaster(command, manifest: onPath, in: scratch)
            #expect(result.status == .exited(2))
            #expect(result.stderr.contains("manifest.yaml:10:"), "\(result.stderr)")
            #expect(result.stderr.contains("consumers.e.command 'no-such-program-4711' is not a program on PATH"), "\(result.stderr)")
        }
        let missing = try ringmaster(manifest: execManifest(records: 10, consumer: "command: ./missing.py"), in: scratch)
        #expect(missing.status == .exited(2))
        #expect(missing.stderr.contains("consumers.e.command './missing.py' does not exist (looked for \(scratch.path)/./missing.py)"),
                "\(missing.stderr)")
    }

    @Test func anExhaustedBudgetStopsTheRouteAndTheRunExits4() throws {
        let scratch = Scratch()
        let consumer = """
            command: python3, args: ["-c", "import sys; sys.stdin.readline(); sys.exit(3)"], on_error: stop, \
            restart: { backoff: { initial: 10ms, max: 20ms }, budget: { restarts: 2, within: 1m } }
            """
        let run = try ringmaster(manifest: execManifest(records: 20_000, consumer: consumer), in: scratch)
        #expect(run.status == .exited(4), "\(run.stderr)")
        #expect(run.stderr.components(separatedBy: "restarting in").count - 1 == 2, "\(run.stderr)")
        #expect(run.stderr.contains("python3 (pid ") && run.stderr.contains(") failed: exit 3; restart budget of 2 within 60.0s used up"), "\(run.stderr)")
        #expect(run.stderr.contains("consumer e stopped after an error"), "\(run.stderr)")
    }
}
