import Foundation
import Glibc
import RingmasterTestSupport
import Testing

// What the integration tests share: where the built programs are, scratch directories, and
// running a program (usually `ringmaster`) to its end with its output in files.

/// The binaries under test (ringmaster, the producers, the built-in plugins), built beside the
/// test bundle.
public let binaryDirectory = executableDirectory()
/// `ringmaster` itself.
public let ringmasterPath = binaryDirectory + "/ringmaster"
/// The package's root (for examples and test sources).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A scratch directory for one test, readable by every user (a walker may run as nobody),
/// removed at the end even when it holds trees deeper than PATH_MAX or modes set to 000.
public final class Scratch: @unchecked Sendable {
    /// The directory.
    public let path: String

    public init() {
        var template = Array("/tmp/ringmaster-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o755)
    }

    deinit {
        if (try? FileManager.default.removeItem(atPath: path)) == nil {
            for (tool, arguments) in [("/bin/chmod", ["-R", "u+rwx", path]), ("/bin/rm", ["-rf", path])] {
                if let process = try? SpawnedProcess.spawn(tool, arguments) { process.wait() }
            }
        }
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name`; returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        _ = FileManager.default.createFile(atPath: target, contents: Data(text.utf8))
        return target
    }

    /// The file's text ("" when it is missing).
    public func read(_ name: String) -> String { String(decoding: data(name), as: UTF8.self) }

    /// The file's bytes (empty when it is missing).
    public func data(_ name: String) -> Data { FileManager.default.contents(atPath: file(name)) ?? Data() }

    /// Waits (bounded) until the file holds at least `count` newline characters; true if it did.
    public func awaitLines(_ name: String, atLeast count: Int, limit: Double = 30) -> Bool {
        var waited = 0.0
        while waited < limit {
            if data(name).reduce(0, { $0 + ($1 == 0x0A ? 1 : 0) }) >= count { return true }
            usleep(20_000)
            waited += 0.02
        }
        return false
    }
}

/// How a program run to its end went.
public struct Finished {
    public let status: RingmasterTestSupport.ExitStatus
    public let stdout: String
    public let stderr: String
    /// The manifest `ringmaster(...)` wrote ("" for other programs).
    public var manifestPath = ""
}

/// Runs a program to its end with stdout and stderr in `stdout.txt` and `stderr.txt` of
/// `scratch`; after `limit` seconds it is killed and the test fails.
public func runToEnd(_ path: String, _ arguments: [String], in scratch: Scratch, environment: [String: String] = [:],
                     limit: Double = 120) throws -> Finished {
    let out = open(scratch.file("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let process = try SpawnedProcess.spawn(path, arguments, environment: environment, stdoutTo: out, stderrTo: err)
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
        Issue.record("\(path) did not finish within \(limit)s")
        process.kill(SIGKILL)
        status = process.wait()
    }
    return Finished(status: status!, stdout: scratch.read("stdout.txt"), stderr: scratch.read("stderr.txt"))
}

/// `ringmaster run` (or `validate`) on `manifest`, written to `manifest.yaml` in `scratch`.
public func ringmaster(_ command: String = "run", manifest: String, in scratch: Scratch,
                       environment: [String: String] = [:], limit: Double = 120) throws -> Finished {
    let path = scratch.write("manifest.yaml", manifest)
    var finished = try runToEnd(ringmasterPath, [command, path], in: scratch, environment: environment, limit: limit)
    finished.manifestPath = path
    return finished
}

/// A `ringmaster` process started on a manifest, with its stdout and stderr in files.
public final class SupervisorRun {
    public let scratch: Scratch
    public let process: SpawnedProcess

    /// Starts `ringmaster <arguments>` in `scratch`, output to `stdout.txt` and `stderr.txt`, with
    /// the current environment plus `environment`.
    public init(_ scratch: Scratch, _ arguments: [String], environment: [String: String] = [:]) throws {
        self.scratch = scratch
        let out = open(scratch.file("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(out)
            close(err)
        }
        process = try SpawnedProcess.spawn(ringmasterPath, arguments, environment: environment, stdoutTo: out, stderrTo: err)
    }

    /// Starts `ringmaster run MANIFEST` with the manifest text written to `manifest.yaml`.
    public convenience init(manifest text: String, in scratch: Scratch = Scratch(), extra: [String] = [],
                            environment: [String: String] = [:]) throws {
        let path = scratch.write("manifest.yaml", text)
        try self.init(scratch, ["run", path] + extra, environment: environment)
    }

    public var stdout: String { scratch.read("stdout.txt") }
    public var stderr: String { scratch.read("stderr.txt") }

    /// SIGKILLs the supervisor if it still runs (a test's cleanup) and reaps it.
    public func killIfRunning() {
        guard process.poll() == nil else { return }
        process.kill(SIGKILL)
        process.wait()
    }

    /// Waits for the process to end; after `limit` seconds it is killed and the test fails.
    @discardableResult
    public func finish(limit: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) -> RingmasterTestSupport.ExitStatus {
        if let status = waitBounded(limit) { return status }
        Issue.record("ringmaster did not finish within \(limit)s; stderr:\n\(stderr.suffix(3000))", sourceLocation: sourceLocation)
        process.kill(SIGKILL)
        return process.wait()
    }

    /// Polls for the end of the process for up to `limit` seconds.
    public func waitBounded(_ limit: Double) -> RingmasterTestSupport.ExitStatus? {
        var waited = 0.0
        while waited < limit {
            if let status = process.poll() { return status }
            usleep(20_000)
            waited += 0.02
        }
        return nil
    }

    /// The pid the supervisor logged when it started `label` (e.g. `w.0`) at `generation`
    /// (`generation=G pid=P [Supervisor] started w.0`); waits for the line up to `limit` seconds.
    public func workerPID(_ label: String, generation: Int = 0, limit: Double = 30) -> pid_t? {
        guard stderr.contains("started \(label)") || awaitLog("started \(label)", limit: limit) else { return nil }
        for line in stderr.split(separator: "\n") where line.hasSuffix("] started \(label)") && line.contains("generation=\(generation) ") {
            guard let range = line.range(of: "pid=") else { continue }
            return pid_t(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    /// Waits until stderr contains `text` (bounded); true if it appeared.
    public func awaitLog(_ text: String, limit: Double = 30) -> Bool {
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

/// Whether a process is gone (or a zombie no one has reaped yet).
public func processIsGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) == -1 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
    return state == "Z" || state == "X"
}

/// Waits (bounded) until every process in `pids` is gone; true if they all went.
public func awaitGone(_ pids: [pid_t], limit: Double = 10) -> Bool {
    var waited = 0.0
    while waited < limit && !pids.allSatisfy(processIsGone) {
        usleep(10_000)
        waited += 0.01
    }
    return pids.allSatisfy(processIsGone)
}
