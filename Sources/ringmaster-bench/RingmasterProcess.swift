import Glibc
import RingChannel
import RingmasterTestSupport

// Running `ringmaster run` from the benchmark: a scratch directory for manifests and outputs, the
// process with its output in files, and the context-switch counts of its threads.

/// A directory under /tmp for the supervisor cases' manifests and outputs; `remove()` deletes the
/// files it handed out and the directory.
final class ScratchDirectory {
    let path: String
    private var names: Set<String> = []

    init() throws(BenchFailure) {
        var template = Array("/tmp/ringmaster-bench-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw .system("mkdtemp") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path of `name` in the directory (removed with it).
    func file(_ name: String) -> String {
        names.insert(name)
        return path + "/" + name
    }

    /// Writes `text` to `name`, replacing it; returns the path.
    func write(_ name: String, _ text: String) throws(BenchFailure) -> String {
        let target = file(name)
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("open(\(target))") }
        defer { close(fd) }
        try writeText(fd, text)
        return target
    }

    /// The contents of `name`, empty when it cannot be read.
    func read(_ name: String) -> String { readWholeFile(file(name)) }

    func remove() {
        for name in names { unlink(path + "/" + name) }
        rmdir(path)
    }
}

/// Writes all of `text`.
func writeText(_ fd: CInt, _ text: String) throws(BenchFailure) {
    let failure: BenchFailure? = Array(text.utf8).withUnsafeBytes { raw in
        do throws(BenchFailure) { try writeAll(fd, raw) } catch { return error }
        return nil
    }
    if let failure { throw failure }
}

/// The contents of a file as text (at most 64 MiB), empty when it cannot be read.
func readWholeFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count < 64 << 20 {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk.prefix(n)
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// One `ringmaster run MANIFEST`, its standard output and error in files of the scratch directory.
/// It inherits this process's CPU affinity (pinned to CPU 0 when two CPUs are allowed).
struct RingmasterRun {
    let process: SpawnedProcess
    let name: String
    private let scratch: ScratchDirectory

    /// Writes `<name>.yaml` and starts `ringmaster run` on it; output goes to `<name>.out` and `<name>.err`.
    init(_ scratch: ScratchDirectory, name: String, manifest: String) throws {
        let ringmaster = executableDirectory() + "/ringmaster"
        guard access(ringmaster, X_OK) == 0 else { throw BenchFailure("\(ringmaster) is not built (make bench builds it)") }
        let path = try scratch.write(name + ".yaml", manifest)
        let out = open(scratch.file(name + ".out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(scratch.file(name + ".err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(out)
            close(err)
        }
        guard out >= 0, err >= 0 else { throw BenchFailure.system("open(\(scratch.path)/\(name).out/.err)") }
        process = try SpawnedProcess.spawn(ringmaster, ["run", path], stdoutTo: out, stderrTo: err)
        self.name = name
        self.scratch = scratch
    }

    var standardOutput: String { scratch.read(name + ".out") }
    var standardError: String { scratch.read(name + ".err") }

    /// Waits up to `limit` seconds for the run to end; SIGKILLs it and throws after that.
    @discardableResult
    func finish(limit: Double) throws(BenchFailure) -> ExitStatus {
        let deadline = MonotonicClock.now() &+ UInt64(limit * 1e9)
        while MonotonicClock.now() < deadline {
            if let status = process.poll() { return status }
            usleep(2_000)
        }
        process.kill(SIGKILL)
        process.wait()
        throw BenchFailure("ringmaster run \(name).yaml did not end within \(limit) s; stderr ends: \(standardError.suffix(600))")
    }

    /// Waits up to `limit` seconds until the log (standard error) contains `text`.
    func awaitLog(_ text: String, limit: Double) -> Bool {
        let deadline = MonotonicClock.now() &+ UInt64(limit * 1e9)
        while MonotonicClock.now() < deadline {
            if standardError.contains(text) { return true }
            if process.poll() != nil { break }
            usleep(5_000)
        }
        return standardError.contains(text)
    }

    /// Throws with the end of the log unless the run ended with `expected`.
    func expect(_ status: ExitStatus, _ expected: ExitStatus) throws(BenchFailure) {
        guard status == expected else {
            throw BenchFailure("ringmaster run \(name).yaml ended with \(status), not \(expected); stderr ends: \(standardError.suffix(600))")
        }
    }
}

/// Voluntary plus involuntary context switches of every thread of `pid`, and how many threads
/// it has (from /proc/PID/task/*/status). Reading them does not wake the threads.
func contextSwitches(of pid: pid_t) throws(BenchFailure) -> (switches: UInt64, threads: Int) {
    let directory = "/proc/\(pid)/task"
    guard let stream = opendir(directory) else { throw .system("opendir(\(directory))") }
    defer { closedir(stream) }
    var total: UInt64 = 0
    var threads = 0
    while let entry = readdir(stream) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard tid.first?.isNumber == true else { continue }
        let status = readWholeFile("\(directory)/\(tid)/status")
        for line in status.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            total += line.split(separator: ":").last.flatMap { UInt64($0.trimmingPrefix(while: \.isWhitespace)) } ?? 0
        }
        threads += 1
    }
    return (total, threads)
}

/// A manifest with one worker, `producer`, running `command` with `arguments` (never restarted)
/// into the built-in `discard` consumer; `topLevel` is an extra top-level line (e.g. `metrics:`).
func discardManifest(command: String, arguments: [String], channel: String, topLevel: String = "") -> String {
    """
    version: 1
    \(topLevel)
    workers:
      producer:
        command: \(command)
        args: [\(arguments.map { "\"\($0)\"" }.joined(separator: ", "))]
        \(channel)
        format: bytes
        restart: { policy: never }
        to: [sink]
    consumers:
      sink: { plugin: discard }
    """
}
