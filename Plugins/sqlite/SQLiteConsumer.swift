import RingmasterConsumerKit
import RingmasterRendering

/// `sqlite`: every record becomes a row of a table per format (docs/SQLITE.md) in one database
/// file, in WAL mode, with thousands of rows per transaction.
///
/// Durability: a transaction is committed when the rows of the consume calls since the last
/// commit reach `batch_rows`, at every `commit_interval` tick with rows pending, on `flush` and
/// on `close`. A committed transaction survives a SIGKILL of the supervisor; rows of calls that
/// returned since the last commit do not (at most `batch_rows` − 1 plus one batch, or one
/// `commit_interval` of them). The file is never left corrupt: SQLite's WAL rolls back the open
/// transaction when the database is next opened.
final class SQLiteConsumer: RingmasterConsumer {
    private let host: ConsumerHost
    private let settings: SQLiteSettings
    private let database: Database
    private let inserts: Inserts
    private var inTransaction = false
    /// Rows written in the open transaction.
    private var pendingRows = 0
    private var malformedRecords = 0
    /// A copy of a text or JSON payload: the ring's bytes may change while they are checked.
    private var copy: [UInt8] = []
    let tickInterval: Duration?

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        _ = try SQLiteSettings(settings)
    }

    /// Opens the database (a relative `path` is taken against the manifest's directory), switches
    /// it to WAL, drops the tables in `replace` mode, creates them, prepares the inserts.
    init(settings raw: ConsumerSettings, host: ConsumerHost) throws {
        let settings = try SQLiteSettings(raw)
        self.host = host
        self.settings = settings
        tickInterval = settings.commitInterval
        let path = settings.path.hasPrefix("/") ? settings.path : host.manifestDirectory + "/" + settings.path
        do {
            (database, inserts) = try Self.open(path, settings)
        } catch {
            throw SettingsError(key: "path", "cannot be used as a database: \(error)")
        }
    }

    private static func open(_ path: String, _ settings: SQLiteSettings) throws(DatabaseError) -> (Database, Inserts) {
        let database = try Database(path: path)
        do throws(DatabaseError) {
            database.setBusyTimeout(milliseconds: 5000)
            // 16 KiB pages (for a new file; an existing one keeps its size): fewer, fuller pages
            // for the long path rows, and fewer b-tree levels.
            try database.execute("PRAGMA page_size=16384")
            let journal = try database.text("PRAGMA journal_mode=WAL")
            guard journal == "wal" else { throw DatabaseError(message: "\(path): cannot switch to WAL (journal mode \(journal ?? "?"))") }
            try database.execute("PRAGMA synchronous=\(settings.synchronous)")
            // A 64 MiB page cache and in-memory sorting: the inserts and the index builds at close
            // stay off the disk for a walk of a few hundred thousand entries.
            try database.execute("PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=4096")
            try database.execute("BEGIN IMMEDIATE")
            do throws(DatabaseError) {
                if settings.mode == .replace {
                    for table in Schema.tables { try database.execute("DROP TABLE IF EXISTS \(table)") }
                }
                try database.execute(Schema.create)
                try database.execute("COMMIT")
            } catch let failure {
                try? database.execute("ROLLBACK")
                throw failure
            }
            return (database, try Inserts(database))
        } catch let failure {
            try? database.close()
            throw failure
        }
    }

    func consume(_ batch: ConsumerBatch) throws {
        if !inTransaction {
            try database.execute("BEGIN")
            inTransaction = true
        }
        // A savepoint per call: a failed call leaves none of its rows, so the host's retry of the
        // same batch adds each row once, and the rows of earlier calls stay.
        try database.execute("SAVEPOINT batch")
        do {
            for record in batch { try insert(record) }
            try database.execute("RELEASE batch")
        } catch {
            try? database.execute("ROLLBACK TO batch")
            try? database.execute("RELEASE batch")
            throw error
        }
        pendingRows += batch.count
        if pendingRows >= settings.batchRows { try commitTaken() }
    }

    /// Commits rows already taken. When the commit fails but the transaction is still open
    /// (a busy file), the rows stay pending for the next commit: failing the call would make
    /// the host offer this batch again and store it twice. When SQLite rolled the transaction
    /// back, the rows are gone, and the error says so (the host retries this batch or stops
    /// the route, and the run's exit status tells).
    private func commitTaken() throws(DatabaseError) {
        do { try commit() } catch {
            if database.isInTransaction {
                host.log(.warning, "commit failed, \(pendingRows) rows stay pending: \(error)")
                return
            }
            let lost = pendingRows
            inTransaction = false
            pendingRows = 0
            throw DatabaseError(message: "\(error); the transaction was rolled back and \(lost) rows of this and earlier batches were lost")
        }
    }

    func tick() throws { try commitTaken() }

    func flush() throws { try commit() }

    /// Commits, builds the indexes (once: they are kept), closes. SQLite checkpoints the WAL
    /// into the database file when its last connection closes.
    func close() throws {
        defer {
            inserts.finalize()
            try? database.close()
        }
        try commit()
        if settings.indexes { try database.execute(Schema.indexes) }
        if malformedRecords > 0 {
            host.log(.warning, "\(malformedRecords) malformed file-entry records stored with error 'malformed'")
        }
    }

    private func commit() throws(DatabaseError) {
        guard inTransaction else { return }
        try database.execute("COMMIT")
        inTransaction = false
        pendingRows = 0
    }

    /// Writes one row. Text and blobs are bound without a copy, so each `run()` happens while
    /// what it binds is alive: the host's worker name and payload (during this call), the copy.
    private func insert(_ record: ConsumerRecord) throws(DatabaseError) {
        switch record.format {
        case .fileEntry: try insertFileEntry(record)
        case .bytes:
            let statement = inserts.bytes
            bindOrigin(record, statement)
            statement.bind(6, blob: record.payload)
            try statement.run()
        case .text, .json:
            let statement = record.format == .json ? inserts.json : inserts.text
            bindOrigin(record, statement)
            copy.removeAll(keepingCapacity: true)
            copy.append(contentsOf: record.payload)
            let failure: DatabaseError? = copy.withUnsafeBytes { bytes in
                if isValidUTF8(bytes) { statement.bind(6, text: bytes) } else { statement.bind(7, blob: bytes) }
                return Self.attempt(statement)
            }
            if let failure { throw failure }
        }
    }

    private static func attempt(_ statement: Statement) -> DatabaseError? {
        do { try statement.run() } catch { return error }
        return nil
    }

    /// worker, instance, generation, seq (and the record type, ?5, except in file_entries).
    private func bindOrigin(_ record: ConsumerRecord, _ statement: Statement, withType: Bool = true) {
        statement.bind(1, text: record.workerBytes)
        statement.bind(2, Int64(record.instance))
        statement.bind(3, Int64(bitPattern: record.generation))
        statement.bind(4, Int64(bitPattern: record.sequence))
        if withType { statement.bind(5, Int64(record.type)) }
    }

    /// One `file_entries` row; the columns left unbound are NULL (`run()` clears the bindings).
    private func insertFileEntry(_ record: ConsumerRecord) throws(DatabaseError) {
        let statement = inserts.fileEntries
        bindOrigin(record, statement, withType: false)
        switch FileEntryRendering.decode(record.payload) {
        case .failure(let malformed):
            statement.bind(5, blob: UnsafeRawBufferPointer(start: nil, count: 0))
            statement.bind(16, text: Words.malformed)
            malformedRecords += 1
            if malformedRecords <= 10 {
                host.log(.warning, "\(record.worker).\(record.instance) seq \(record.sequence): malformed file-entry: \(malformed.detail); stored with error 'malformed'")
            }
            try statement.run()
        case .success(let entry):
            if entry.isError {
                if entry.type != 0 { statement.bind(7, text: Words.type(entry.type)) }
                statement.bind(16, copying: FileEntryRendering.errnoName(entry.errno))
                statement.bind(17, Int64(entry.errno))
                statement.bind(18, text: Words.operation(entry.operation))
            } else {
                statement.bind(7, text: Words.type(entry.type))
                statement.bind(13, Int64(bitPattern: entry.inode))
                if entry.hasStatus {
                    statement.bind(8, Int64(bitPattern: entry.size))
                    statement.bind(9, Int64(entry.mode))
                    statement.bind(10, Int64(entry.uid))
                    statement.bind(11, Int64(entry.gid))
                    statement.bind(12, entry.mtimeNanoseconds)
                    statement.bind(14, Int64(bitPattern: entry.device))
                    statement.bind(15, Int64(bitPattern: entry.links))
                }
            }
            let failure: DatabaseError? = entry.path.withUnsafeBytes { path in
                statement.bind(5, blob: path)
                if isValidUTF8(path) { statement.bind(6, text: path) }
                return Self.attempt(statement)
            }
            if let failure { throw failure }
        }
    }
}

/// The words of the `type`, `op` and `error` columns, made once and kept for the life of the
/// process (plugins are never unloaded), so they are bound without a copy. Never written after
/// they are made, so every instance's thread may read them.
private enum Words {
    private static func lasting(_ text: String) -> UnsafeRawBufferPointer {
        let bytes = Array(text.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        storage.copyBytes(from: bytes)
        return UnsafeRawBufferPointer(rebasing: storage[..<bytes.count])
    }

    nonisolated(unsafe) private static let types = (0...8).map { lasting(FileEntryRendering.typeName(UInt8($0))) }
    nonisolated(unsafe) private static let operations = (0...6).map { lasting(FileEntryRendering.operationName(UInt8($0))) }
    nonisolated(unsafe) static let malformed = lasting("malformed")

    /// `file`, `dir`, …; `unknown` for codes past 7.
    static func type(_ code: UInt8) -> UnsafeRawBufferPointer { types[min(Int(code), 8)] }
    /// `stat`, `open`, …; `unknown` for codes past 5.
    static func operation(_ code: UInt8) -> UnsafeRawBufferPointer { operations[min(Int(code), 6)] }
}

/// The prepared inserts, one per table, reused for every row.
private struct Inserts {
    let fileEntries: Statement
    let json: Statement
    let text: Statement
    let bytes: Statement

    init(_ database: Database) throws(DatabaseError) {
        var made: [Statement] = []
        do {
            for sql in [Schema.insertFileEntry, Schema.insertJSON, Schema.insertText, Schema.insertBytes] {
                made.append(try database.prepare(sql))
            }
        } catch {
            made.forEach { $0.finalize() }
            throw error
        }
        (fileEntries, json, text, bytes) = (made[0], made[1], made[2], made[3])
    }

    func finalize() { [fileEntries, json, text, bytes].forEach { $0.finalize() } }
}

/// Whether `bytes` are well-formed UTF-8 (an ASCII run is checked without decoding).
func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    if bytes.allSatisfy({ $0 < 0x80 }) { return true }
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: SQLiteConsumer.self)
}
