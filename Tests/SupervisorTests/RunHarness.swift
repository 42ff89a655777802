import Foundation
import Glibc
import RingmasterTestSupport
import Testing

/// The binaries under test, built beside the test bundle.
let binaryDirectory = executableDirectory()
let ringmasterPath = binaryDirectory + "/ringmaster"

/// A scratch directory for one test, removed at the end.
final class Scratch {
    let path: String

    init() {
        var template = Array("/tmp/ringmaster-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: Data(text.utf8))
        return target
    }

    func read(_ name: String) -> String {
        (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? ""
    }
}

/// A `ringmaster` process started on a manifest, with its stdout and stderr in files.
final class SupervisorRun {
    let scratch: Scratch
    let process: SpawnedProcess

    /// Starts `ringmaster <arguments>` in `scratch`, output to `stdout.txt` and `stderr.txt`.
    init(_ scratch: Scratch, _ arguments: [String]) throws {
        self.scratch = scratch
        let out = open(scratch.file("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(out)
            close(err)
        }
        process = try SpawnedProcess.spawn(ringmasterPath, arguments, stdoutTo: out, stderrTo: err)
    }

    /// Starts `ringmaster run MANIFEST` with the manifest text written to `manifest.yaml`.
    convenience init(manifest text: String, in scratch: Scratch = Scratch(), extra: [String] = []) throws {
        let path = scratch.write("manifest.yaml", text)
        try self.init(scratch, ["run", path] + extra)
    }

    var stdout: String { scratch.read("stdout.txt") }
    var stderr: String { scratch.read("stderr.txt") }

    /// Waits for the process to end; after `limit` seconds it is killed and the test fails.
    @discardableResult
    func finish(limit: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) -> RingmasterTestSupport.ExitStatus {
        if let status = waitBounded(limit) { return status }
        Issue.record("ringmaster did not finish within \(limit)s; stderr:\n\(stderr.suffix(3000))", sourceLocation: sourceLocation)
        process.kill(SIGKILL)
        return process.wait()
    }

    /// Polls for the end of the process for up to `limit` seconds.
    func waitBounded(_ limit: Double) -> RingmasterTestSupport.ExitStatus? {
        var waited = 0.0
        while waited < limit {
            if let status = process.poll() { return status }
            usleep(20_000)
            waited += 0.02
        }
        return nil
    }

    /// Waits until stderr contains `text` (bounded); true if it appeared.
    func awaitLog(_ text: String, limit: Double = 30) -> Bool {
        var waited = 0.0
        while waited < limit {
            if stderr.contains(text) { return true }
            if process.poll() != nil { return stderr.contains(text) }
            usleep(20_000)
            waited += 0.02
        }
        return false
    }
}

/// One line of the `jsonl` consumer's output.
struct DeliveredRecord {
    let worker: String
    let instance: Int
    let generation: Int
    let seq: Int
    /// The test producer's own sequence number, from the payload.
    let payloadSequence: UInt64?
}

/// Parses a JSON Lines file written by the `jsonl` consumer for `bytes`-format test records.
func readDelivered(_ text: String) -> [DeliveredRecord] {
    text.split(separator: "\n").compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        var payloadSequence: UInt64? = nil
        if let data = object["data"] as? String, let bytes = Data(base64Encoded: data) {
            payloadSequence = bytes.withUnsafeBytes { raw in TestRecord.verify(raw) }
        }
        return DeliveredRecord(worker: object["worker"] as? String ?? "", instance: object["instance"] as? Int ?? -1,
                               generation: object["generation"] as? Int ?? -1, seq: object["seq"] as? Int ?? -1,
                               payloadSequence: payloadSequence)
    }
}

/// The pids the supervisor logged for started workers.
func startedPIDs(in log: String) -> [Int32] {
    log.split(separator: "\n").filter { $0.contains("started") }.compactMap { line in
        guard let range = line.range(of: "pid=") else { return nil }
        return Int32(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Whether a process is gone (or a zombie no one has reaped yet).
func processIsGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) == -1 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
    return state == "Z" || state == "X"
}
