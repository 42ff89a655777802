import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The binaries under test, built beside the test bundle.
let walkPath = binaryDirectory + "/ringmaster-walk"

/// Runs a program to its end with stdout to `stdoutPath` (or /dev/null); returns its status.
@discardableResult
func run(_ program: String, _ arguments: [String], stdoutPath: String? = nil, stderrPath: String? = nil,
         environment: [String: String] = [:]) -> RingmasterTestSupport.ExitStatus {
    let out = open(stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let err = open(stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    defer {
        close(out)
        close(err)
    }
    guard let process = try? SpawnedProcess.spawn(program, arguments, environment: environment, stdoutTo: out, stderrTo: err) else {
        return .exited(127)
    }
    return process.wait()
}

/// One entry as find(1) and the walker both describe it: path bytes, find's type letter, size.
struct Listed: Hashable, CustomStringConvertible {
    let path: [UInt8]
    let type: Character
    let size: UInt64?

    var description: String { "\(String(decoding: path, as: UTF8.self).debugDescription) \(type) \(size.map(String.init) ?? "-")" }
}

/// What `find ARGS -printf '%p\0%y\0%s\0'` reports (NUL-separated, so names with newlines are
/// exact), optionally as another user through `setpriv`.
func findListing(_ arguments: [String], in scratch: Scratch, asNobody: Bool = false, withSize: Bool = true) -> [Listed] {
    let output = scratch.file("find.out")
    let findArguments = arguments + ["-printf", "%p\\0%y\\0%s\\0"]
    if asNobody {
        run("/usr/bin/setpriv", nobody + ["/usr/bin/find"] + findArguments, stdoutPath: output)
    } else {
        run("/usr/bin/find", findArguments, stdoutPath: output)
    }
    let fields = scratch.data("find.out").split(separator: 0, omittingEmptySubsequences: false)
    var result: [Listed] = []
    var index = 0
    while index + 2 < fields.count {
        let type = Character(String(decoding: fields[index + 1], as: UTF8.self))
        result.append(Listed(path: Array(fields[index]), type: type, size: withSize ? UInt64(String(decoding: fields[index + 2], as: UTF8.self)) : nil))
        index += 3
    }
    return result
}

/// `setpriv` arguments that drop to nobody (65534) with no supplementary groups.
let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]

/// One record the `jsonl` consumer wrote for the walker.
struct WalkRecord {
    let instance: Int
    let generation: Int
    let seq: Int
    let path: [UInt8]
    /// The type word ("file", "dir", ...), nil in an error record without one.
    let type: String?
    let size: UInt64?
    /// The errno name of an error record ("EACCES"), nil for an entry.
    let error: String?
    let operation: String?

    /// find's letter for the type word.
    var findType: Character {
        switch type {
        case "file": "f"
        case "dir": "d"
        case "symlink": "l"
        case "block": "b"
        case "char": "c"
        case "fifo": "p"
        case "socket": "s"
        default: "?"
        }
    }

    func listed(withSize: Bool = true) -> Listed { Listed(path: path, type: findType, size: withSize ? size : nil) }
}

/// Parses the `jsonl` consumer's file: the path from `path_b64` when present (not UTF-8), else `path`.
func readWalkRecords(_ data: Data) -> [WalkRecord] {
    data.split(separator: UInt8(ascii: "\n")).compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              let payload = object["data"] as? [String: Any] else { return nil }
        var path: [UInt8] = []
        if let b64 = payload["path_b64"] as? String, let bytes = Data(base64Encoded: b64) {
            path = Array(bytes)
        } else if let text = payload["path"] as? String {
            path = Array(text.utf8)
        }
        return WalkRecord(instance: object["instance"] as? Int ?? -1, generation: object["generation"] as? Int ?? -1,
                          seq: object["seq"] as? Int ?? -1, path: path, type: payload["type"] as? String,
                          size: (payload["size"] as? NSNumber)?.uint64Value, error: payload["error"] as? String,
                          operation: payload["op"] as? String)
    }
}

/// A finished `ringmaster run` of the walker.
struct WalkRun {
    let status: RingmasterTestSupport.ExitStatus
    let records: [WalkRecord]
    let stderr: String
    let stdout: String

    /// The entry records (not the errors).
    var entries: [WalkRecord] { records.filter { $0.error == nil } }
    var errors: [WalkRecord] { records.filter { $0.error != nil } }
}

/// Runs the walker under `ringmaster run` with a jsonl consumer and waits (bounded) for the end.
func runWalker(_ arguments: [String], in scratch: Scratch, instances: Int = 1, asNobody: Bool = false,
               cwd: String? = nil, restart: String = "{ policy: never }", channel: String = "{ ring: 1MiB, max_record: 64KiB }",
               environment: [String: String] = [:], limit: Double = 120) throws -> WalkRun {
    let command = asNobody ? "/usr/bin/setpriv" : walkPath
    let args = (asNobody ? nobody + [walkPath] : []) + arguments
    let quoted = args.map { "\"\($0)\"" }.joined(separator: ", ")
    let output = scratch.file("out.jsonl")
    unlink(output)
    var lines = [
        "version: 1",
        "defaults:",
        "  channel: \(channel)",
        "  restart: \(restart)",
        "workers:",
        "  walker:",
        "    command: \(command)",
        "    args: [\(quoted)]",
        "    instances: \(instances)",
        "    format: file-entry",
        "    to: [file, stats]",
    ]
    if let cwd { lines.append("    cwd: \(cwd)") }
    lines += ["consumers:", "  file: { plugin: jsonl, path: \(output) }", "  stats: { plugin: stats }"]
    let manifest = lines.joined(separator: "\n") + "\n"
    let manifestPath = scratch.file("walk.yaml")
    _ = FileManager.default.createFile(atPath: manifestPath, contents: Data(manifest.utf8))
    let finished = try runToEnd(ringmasterPath, ["run", manifestPath], in: scratch, environment: environment, limit: limit)
    return WalkRun(status: finished.status, records: readWalkRecords(scratch.data("out.jsonl")),
                   stderr: finished.stderr, stdout: finished.stdout)
}

/// Builds trees with raw byte names (not UTF-8, newlines, leading dashes) under a root.
struct TreeBuilder {
    let root: String

    private func full(_ relative: [UInt8]) -> [CChar] {
        (Array(root.utf8) + [UInt8(ascii: "/")] + relative).map { CChar(bitPattern: $0) } + [0]
    }

    func directory(_ relative: [UInt8], mode: mode_t = 0o755) {
        let made = mkdir(full(relative), mode)
        precondition(made == 0, "mkdir \(relative): \(errno)")
        chmod(full(relative), mode)
    }

    func file(_ relative: [UInt8], size: Int = 0) {
        let fd = open(full(relative), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "create \(relative): \(errno)")
        if size > 0 { ftruncate(fd, off_t(size)) }
        close(fd)
    }

    func symlink(_ target: String, at relative: [UInt8]) {
        let made = Glibc.symlink(target, full(relative))
        precondition(made == 0, "symlink \(relative): \(errno)")
    }

    func directory(_ relative: String, mode: mode_t = 0o755) { directory(Array(relative.utf8), mode: mode) }
    func file(_ relative: String, size: Int = 0) { file(Array(relative.utf8), size: size) }
    func symlink(_ target: String, at relative: String) { symlink(target, at: Array(relative.utf8)) }
}

/// Multiset difference report: what is only on one side, and what appears more than once.
func compare(walker: [Listed], find: [Listed], sourceLocation: SourceLocation = #_sourceLocation) {
    let walked = Set(walker)
    let found = Set(find)
    #expect(walker.count == walked.count, "the walker delivered \(walker.count - walked.count) entries twice", sourceLocation: sourceLocation)
    let missing = found.subtracting(walked)
    let extra = walked.subtracting(found)
    #expect(missing.isEmpty, "missing from the walk: \(missing.prefix(5))", sourceLocation: sourceLocation)
    #expect(extra.isEmpty, "not reported by find: \(extra.prefix(5))", sourceLocation: sourceLocation)
}

/// The walk order: component by component, bytewise, a parent before its children.
func walkOrderPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let left = a.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
    let right = b.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
    for (x, y) in zip(left, right) where !x.elementsEqual(y) {
        return x.lexicographicallyPrecedes(y)
    }
    return left.count < right.count
}
