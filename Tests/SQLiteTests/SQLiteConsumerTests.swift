import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The `sqlite` plugin through `ringmaster run`: the walker's rows against find(1), the reopen
/// modes, a SIGKILL of the supervisor mid-run, and the generic tables.
@Suite(.serialized) struct SQLiteConsumerTests {
    /// A tree with odd names (not UTF-8, a newline, a leading dash), empty directories, sizes.
    private func makeTree(in scratch: Scratch) -> String {
        let root = scratch.file("tree")
        mkdir(root, 0o755)
        make(root, Array("with space".utf8), directory: true)
        make(root, Array("with space/file one".utf8), size: 10)
        make(root, Array("new\nline".utf8), size: 3)
        make(root, [0x62, 0x61, 0x64, 0xFF, 0x20, 0x6E], size: 1)   // "bad\xff n"
        make(root, Array("-rf".utf8))
        make(root, Array("empty".utf8), directory: true)
        make(root, Array("d".utf8), directory: true)
        for n in 0..<40 { make(root, Array("d/f\(n)".utf8), size: n * 100) }
        symlink("d/f1", root + "/link")
        return root
    }

    private func walkManifest(_ root: String, settings: String) -> String {
        manifest(workers: [("walker", walkPath, [root], "file-entry")], settings: settings)
    }

    @Test func walkRowsEqualFindAndTheDatabaseIsWALWithIndexes() throws {
        let scratch = Scratch()
        let root = makeTree(in: scratch)
        // batch_rows 7: many transactions in one small walk.
        let run = try ringmaster(manifest: walkManifest(root, settings: "path: walk.sqlite, batch_rows: 7"), in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr.suffix(2000))")

        let database = try TestDatabase(scratch.file("walk.sqlite"))
        let rows = try database.rows("SELECT path, type, size, path_text FROM file_entries WHERE error IS NULL")
        let listed = rows.map { Listed(path: $0[0].bytes ?? [], type: findLetter($0[1].text), size: $0[2].integer ?? -1) }
        let found = try findListing(root, in: scratch)
        #expect(listed.count == found.count)
        #expect(Set(listed) == Set(found), "only in the database: \(Set(listed).subtracting(found).prefix(5)); only in find: \(Set(found).subtracting(listed).prefix(5))")
        // path_text is the path where it is UTF-8, NULL where it is not.
        for row in rows {
            let valid = String(validating: row[0].bytes ?? [], as: UTF8.self)
            #expect(row[3].text == valid)
        }
        #expect(rows.contains { $0[3] == .null })
        #expect(try database.text("PRAGMA journal_mode") == "wal")
        #expect(try database.text("PRAGMA integrity_check") == "ok")
        let indexes = Set(try database.rows("SELECT name FROM sqlite_master WHERE type = 'index'").compactMap { $0[0].text })
        #expect(indexes.isSuperset(of: ["file_entries_path_text", "file_entries_type", "file_entries_size", "file_entries_origin"]))
        let origin = try database.rows("SELECT worker, instance, generation, min(seq), max(seq), count(*) FROM file_entries")
        #expect(origin.first == [.text("walker"), .integer(0), .integer(0), .integer(0), .integer(Int64(found.count - 1)), .integer(Int64(found.count))])
        let file = try database.rows("SELECT mode & 511, uid, nlink, mtime_ns > 0, inode > 0 FROM file_entries WHERE path_text = '\(root)/d/f3'")
        #expect(file.first == [.integer(0o644), .integer(Int64(getuid())), .integer(1), .integer(1), .integer(1)])
    }

    @Test func appendDoublesTheRowsAndReplaceKeepsOneCopy() throws {
        let scratch = Scratch()
        let root = makeTree(in: scratch)
        let entries = Int64(try findListing(root, in: scratch).count)
        func rows() throws -> Int64 { try TestDatabase(scratch.file("walk.sqlite")).integer("SELECT count(*) FROM file_entries") }

        for _ in 0..<2 {
            let run = try ringmaster(manifest: walkManifest(root, settings: "path: walk.sqlite"), in: scratch)
            #expect(run.status == .exited(0), "\(run.stderr.suffix(2000))")
        }
        #expect(try rows() == 2 * entries, "append (the default) keeps the first run's rows")
        let replaced = try ringmaster(manifest: walkManifest(root, settings: "path: walk.sqlite, mode: replace"), in: scratch)
        #expect(replaced.status == .exited(0), "\(replaced.stderr.suffix(2000))")
        #expect(try rows() == entries)
        let appended = try ringmaster(manifest: walkManifest(root, settings: "path: walk.sqlite, mode: append"), in: scratch)
        #expect(appended.status == .exited(0))
        #expect(try rows() == 2 * entries)
        // replace drops the tables with their indexes; `indexes: false` leaves them out.
        let bare = try ringmaster(manifest: walkManifest(root, settings: "path: walk.sqlite, mode: replace, indexes: false"), in: scratch)
        #expect(bare.status == .exited(0), "\(bare.stderr.suffix(2000))")
        #expect(try rows() == entries)
        #expect(try TestDatabase(scratch.file("walk.sqlite")).integer("SELECT count(*) FROM sqlite_master WHERE type = 'index'") == 0)
    }

    @Test func committedBatchesSurviveASIGKILLOfTheSupervisor() throws {
        let scratch = Scratch()
        // A slow stream: a record about every millisecond, committed every 20 rows or 50 ms.
        let text = manifest(workers: [("slow", producerPath, ["--records", "1000000", "--sleep-ms", "1"], "text")],
                            settings: "path: killed.sqlite, batch_rows: 20, commit_interval: 50ms")
        let run = try SupervisorRun(manifest: text, in: scratch)
        var committed: Int64 = 0
        for _ in 0..<500 where committed < 300 {
            usleep(20_000)
            committed = (try? TestDatabase(scratch.file("killed.sqlite")).integer("SELECT count(*) FROM records_text")) ?? 0
        }
        #expect(committed >= 300, "rows were committed while the run went on")
        run.process.kill(SIGKILL)
        #expect(run.process.wait() == .signaled(SIGKILL))

        let database = try TestDatabase(scratch.file("killed.sqlite"))
        #expect(try database.text("PRAGMA integrity_check") == "ok")
        let count = try database.integer("SELECT count(*) FROM records_text")
        #expect(count >= committed)
        #expect(try database.integer("SELECT count(DISTINCT seq) FROM records_text") == count, "no (worker, instance, seq) twice")
        #expect(try database.integer("SELECT max(seq) FROM records_text") == count - 1, "the committed rows are a prefix of the stream")
        let payloads = try database.rows("SELECT seq, text, payload FROM records_text ORDER BY seq LIMIT 200")
        for row in payloads {
            let bytes = row[1].bytes ?? row[2].bytes ?? []
            #expect(bytes.withUnsafeBytes { TestRecord.verify($0) } == UInt64(row[0].integer ?? -1))
        }
    }

    @Test func bytesTextAndJSONRecordsGoToTheirTablesAndMalformedFileEntriesAreRows() throws {
        let scratch = Scratch()
        let workers: [(name: String, command: String, args: [String], format: String)] = [
            ("b", producerPath, ["--records", "500", "--max-size", "300"], "bytes"),
            ("t", producerPath, ["--records", "400"], "text"),
            ("j", producerPath, ["--records", "300"], "json"),
            ("f", producerPath, ["--records", "50"], "file-entry"),
        ]
        let run = try ringmaster(manifest: manifest(workers: workers, settings: "path: mixed.sqlite, batch_rows: 64"), in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr.suffix(2000))")
        let database = try TestDatabase(scratch.file("mixed.sqlite"))
        for (table, worker, records) in [("records_bytes", "b", 500), ("records_text", "t", 400), ("records_json", "j", 300)] {
            let summary = try database.rows("SELECT worker, count(*), count(DISTINCT seq), min(seq), max(seq) FROM \(table) GROUP BY worker")
            #expect(summary == [[.text(worker), .integer(Int64(records)), .integer(Int64(records)), .integer(0), .integer(Int64(records - 1))]], "\(table)")
        }
        for row in try database.rows("SELECT seq, payload, type FROM records_bytes") {
            #expect((row[1].bytes ?? []).withUnsafeBytes { TestRecord.verify($0) } == UInt64(row[0].integer ?? -1))
            #expect(row[2] == .integer(1))
        }
        // The test records are binary: not UTF-8, so kept as the payload blob, text NULL.
        for row in try database.rows("SELECT seq, json, payload FROM records_json") {
            let bytes = row[1].bytes ?? row[2].bytes ?? []
            #expect(bytes.withUnsafeBytes { TestRecord.verify($0) } == UInt64(row[0].integer ?? -1))
        }
        #expect(try database.integer("SELECT count(*) FROM file_entries WHERE worker = 'f'") == 50)
        #expect(try database.integer("SELECT count(*) FROM file_entries WHERE error = 'malformed'") > 0)
        #expect(run.stderr.contains("malformed file-entry"))
    }

    @Test func settingsErrorsArePositioned() throws {
        let scratch = Scratch()
        let bad = manifest(workers: [("w", producerPath, [], "bytes")], settings: "path: x.sqlite, mode: sideways, batch_rows: 0, colour: red")
        let run = try ringmaster(manifest: bad, in: scratch)
        #expect(run.status == .exited(2))
        #expect(run.stderr.contains("consumers.db.mode must be append or replace (got 'sideways')"), "\(run.stderr)")
        #expect(run.stderr.contains("consumers.db.batch_rows must be an integer"))
        #expect(run.stderr.contains("consumers.db.colour is not a setting of the sqlite consumer"))
        let missing = try ringmaster(manifest: manifest(workers: [("w", producerPath, [], "bytes")], settings: "mode: append"), in: scratch)
        #expect(missing.status == .exited(2))
        #expect(missing.stderr.contains("needs a path"), "\(missing.stderr)")
        let unopenable = try ringmaster(manifest: manifest(workers: [("w", producerPath, [], "bytes")], settings: "path: no/such/dir/x.sqlite"), in: scratch)
        #expect(unopenable.status == .exited(2))
        #expect(unopenable.stderr.contains("consumers.db.path cannot be used as a database"), "\(unopenable.stderr)")
    }
}
