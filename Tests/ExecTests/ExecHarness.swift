import Foundation
import Glibc
import RingmasterTestSupport
import Testing

/// The binaries under test (ringmaster, the test producer, libexec.so), built beside the tests.
let binaryDirectory = executableDirectory()
let ringmasterPath = binaryDirectory + "/ringmaster"
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A scratch directory for one test, removed at the end.
final class Scratch {
    let path: String

    init() {
        var template = Array("/tmp/ringmaster-exec-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        _ = FileManager.default.createFile(atPath: target, contents: Data(text.utf8))
        return target
    }

    func read(_ name: String) -> String { (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? "" }
}

/// `ringmaster run` (or `validate`) on a manifest written into `scratch`; output in files.
func ringmaster(_ command: String = "run", manifest: String, in scratch: Scratch,
                limit: Double = 120) throws -> (status: RingmasterTestSupport.ExitStatus, stdout: String, stderr: String) {
    let path = scratch.write("manifest.yaml", manifest)
    let out = open(scratch.file("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let process = try SpawnedProcess.spawn(ringmasterPath, [command, path], stdoutTo: out, stderrTo: err)
    close(out)
    close(err)
    var waited = 0.0
    var status = process.poll()
    while status == nil && waited < limit {
        usleep(20_000)
        waited += 0.02
        status = process.poll()
    }
    if status == nil {
        Issue.record("ringmaster did not finish within \(limit)s")
        process.kill(SIGKILL)
        status = process.wait()
    }
    return (status!, scratch.read("stdout.txt"), scratch.read("stderr.txt"))
}

/// A manifest: one test producer worker `w` sending `records` records to the exec consumer `e`
/// (whose settings are `consumer`, YAML flow-map entries), and optionally to a jsonl file too.
func execManifest(records: Int, consumer: String, alsoJSONL: Bool = false, instances: Int = 1) -> String {
    let jsonl = alsoJSONL ? "\n  all: { plugin: jsonl, path: all.jsonl }" : ""
    return """
    version: 1
    workers:
      w:
        command: ringmaster-test-producer
        args: ["--records", "\(records)"]
        instances: \(instances)
        format: bytes
        to: [e\(alsoJSONL ? ", all" : "")]
    consumers:
      e: { plugin: exec, \(consumer) }\(jsonl)
    """
}
