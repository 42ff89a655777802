import CSQLite
import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The producers the manifests name.
let walkPath = binaryDirectory + "/ringmaster-walk"
let producerPath = binaryDirectory + "/ringmaster-test-producer"

/// A manifest with one worker per entry of `workers` (name, command, args, format) routed to the
/// sqlite consumer `db` with `settings`.
func manifest(workers: [(name: String, command: String, args: [String], format: String)], settings: String) -> String {
    var lines = [
        "version: 1",
        "defaults:",
        "  channel: { ring: 1MiB, max_record: 64KiB }",
        "  restart: { policy: never }",
        "workers:",
    ]
    for worker in workers {
        lines += [
            "  \(worker.name):",
            "    command: \(worker.command)",
            "    args: [\(worker.args.map { "\"\($0)\"" }.joined(separator: ", "))]",
            "    format: \(worker.format)",
            "    to: [db]",
        ]
    }
    lines += ["consumers:", "  db: { plugin: sqlite, \(settings) }"]
    return lines.joined(separator: "\n") + "\n"
}

/// One SQLite value as the tests compare it.
enum Value: Hashable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null

    var integer: Int64? { if case .integer(let n) = self { n } else { nil } }
    var text: String? { if case .text(let s) = self { s } else { nil } }
    var bytes: [UInt8]? {
        switch self {
        case .blob(let b): b
        case .text(let s): Array(s.utf8)
        default: nil
        }
    }
}

/// The test's own connection to a database the plugin wrote.
final class TestDatabase {
    private var handle: OpaquePointer?

    init(_ path: String) throws {
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "?"
            sqlite3_close_v2(handle)
            throw TestFailure("cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Every row of `sql`.
    func rows(_ sql: String) throws -> [[Value]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw TestFailure("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        var result: [[Value]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw TestFailure("\(sql): \(String(cString: sqlite3_errmsg(handle)))") }
            result.append((0..<sqlite3_column_count(statement)).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
                case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, column)))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    guard let base = sqlite3_column_blob(statement, column) else { return .blob([]) }
                    return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
                case SQLITE_NULL: return .null
                default: return .null
                }
            })
        }
        return result
    }

    /// The one integer `sql` answers.
    func integer(_ sql: String) throws -> Int64 {
        guard let value = try rows(sql).first?.first?.integer else { throw TestFailure("\(sql): no integer") }
        return value
    }

    func text(_ sql: String) throws -> String? { try rows(sql).first?.first?.text }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One entry as find(1) and the database both describe it: path bytes, find's type letter, size.
struct Listed: Hashable, CustomStringConvertible {
    let path: [UInt8]
    let type: String
    let size: Int64

    var description: String { "\(String(decoding: path, as: UTF8.self).debugDescription) \(type) \(size)" }
}

/// What `find ROOT -printf '%p\0%y\0%s\0'` reports (NUL-separated, so odd names are exact).
func findListing(_ root: String, in scratch: Scratch) throws -> [Listed] {
    let out = open(scratch.file("find.out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let process = try SpawnedProcess.spawn("/usr/bin/find", [root, "-printf", "%p\\0%y\\0%s\\0"], stdoutTo: out)
    close(out)
    #expect(process.wait() == .exited(0))
    let fields = scratch.data("find.out").split(separator: 0, omittingEmptySubsequences: false)
    var result: [Listed] = []
    var index = 0
    while index + 2 < fields.count {
        result.append(Listed(path: Array(fields[index]), type: String(decoding: fields[index + 1], as: UTF8.self),
                             size: Int64(String(decoding: fields[index + 2], as: UTF8.self)) ?? -1))
        index += 3
    }
    return result
}

/// find's letter for the plugin's type word.
func findLetter(_ type: String?) -> String {
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

/// Makes a file or directory with a raw byte name under `root`.
func make(_ root: String, _ relative: [UInt8], directory: Bool = false, size: Int = 0) {
    let path = (Array(root.utf8) + [UInt8(ascii: "/")] + relative).map { CChar(bitPattern: $0) } + [0]
    if directory {
        precondition(mkdir(path, 0o755) == 0, "mkdir \(relative): \(errno)")
        return
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "create \(relative): \(errno)")
    if size > 0 { ftruncate(fd, off_t(size)) }
    close(fd)
}
