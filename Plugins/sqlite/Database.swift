import CSQLite

/// A failed SQLite call: what was being done, SQLite's message and its result code.
struct DatabaseError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One SQLite connection: the plugin's only file with pointer code. The connection belongs to
/// one consumer instance, and the host calls an instance from one thread only.
final class Database {
    private var handle: OpaquePointer?
    /// The file, for messages.
    let path: String

    /// Opens (creating if needed) the database file. The corresponding C function is `sqlite3_open_v2`.
    init(path: String) throws(DatabaseError) {
        self.path = path
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(opened)
            throw DatabaseError(message: "cannot open \(path): \(reason)")
        }
        handle = opened
        sqlite3_extended_result_codes(opened, 1)
    }

    deinit { assert(handle == nil, "leak of an open SQLite connection to \(path)") }

    /// Runs SQL text (one or more statements, no results wanted). The corresponding C function is `sqlite3_exec`.
    func execute(_ sql: String) throws(DatabaseError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let reason = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(message)
            throw DatabaseError(message: "\(path): \(reason) (in \(sql.prefix(80)))")
        }
    }

    /// The first column of the first row of `sql` as text (a PRAGMA's answer), nil without a row.
    func text(_ sql: String) throws(DatabaseError) -> String? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        guard try statement.step() else { return nil }
        return statement.text(column: 0)
    }

    /// A prepared statement, reused for every row. The corresponding C function is `sqlite3_prepare_v3`.
    func prepare(_ sql: String) throws(DatabaseError) -> Statement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure("prepare", status) }
        return Statement(statement, database: self)
    }

    /// Whether a transaction is open (SQLite rolls one back by itself after some failures).
    /// The corresponding C function is `sqlite3_get_autocommit`.
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Waits up to `milliseconds` for another connection's lock instead of failing at once.
    func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    /// Closes the connection; statements must be finalized first. The corresponding C function is `sqlite3_close_v2`.
    func close() throws(DatabaseError) {
        guard let open = handle else { return }
        handle = nil
        let status = sqlite3_close_v2(open)
        if status != SQLITE_OK { throw DatabaseError(message: "cannot close \(path): \(String(cString: sqlite3_errstr(status)))") }
    }

    fileprivate func failure(_ operation: String, _ status: Int32) -> DatabaseError {
        let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
        return DatabaseError(message: "\(path): \(operation): \(reason)")
    }
}

/// A prepared statement; values are bound by 1-based index. Text and blobs are borrowed, not
/// copied: bind them, then `run()` while they are valid.
final class Statement {
    private var handle: OpaquePointer?
    private unowned let database: Database

    fileprivate init(_ handle: OpaquePointer, database: Database) {
        self.handle = handle
        self.database = database
    }

    deinit { assert(handle == nil, "leak of a prepared statement") }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

    /// Binds UTF-8 text (the caller has checked it is valid UTF-8) without copying it: the bytes
    /// must stay valid until `run()` returns, which clears every binding.
    func bind(_ index: Int32, text bytes: UnsafeRawBufferPointer) {
        // An empty text is "" (not NULL): SQLite reads no byte of a zero-length value.
        let base = bytes.baseAddress ?? UnsafeRawPointer(Self.emptyValue)
        sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
    }

    /// Binds a copy of `text` (for the rare values that have no lasting storage: errno names).
    func bind(_ index: Int32, copying text: String) {
        var text = text
        text.withUTF8 { bytes in
            sqlite3_bind_text(handle, index, UnsafeRawPointer(bytes.baseAddress ?? Self.emptyValue).assumingMemoryBound(to: CChar.self),
                              Int32(bytes.count), csqlite_transient())
        }
    }

    /// Binds a blob without copying it (valid until `run()` returns, as for text).
    func bind(_ index: Int32, blob bytes: UnsafeRawBufferPointer) {
        // A zero-length blob, not NULL: sqlite3_bind_blob with a null pointer binds NULL.
        if bytes.isEmpty {
            sqlite3_bind_zeroblob(handle, index, 0)
        } else {
            sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), nil)
        }
    }

    /// A byte that outlives every statement, the address of zero-length values (never written
    /// after it is made, so sharing it between threads is safe).
    nonisolated(unsafe) private static let emptyValue: UnsafePointer<UInt8> = {
        let byte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        byte.initialize(to: 0)
        return UnsafePointer(byte)
    }()

    /// Runs the statement to its end (an INSERT), then resets it and clears its bindings (every
    /// parameter is NULL again, and no borrowed pointer is kept) for the next row.
    func run() throws(DatabaseError) {
        let status = sqlite3_step(handle)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        if status != SQLITE_DONE { throw database.failure("insert", status) }
    }

    /// Steps once: true when a row is ready.
    func step() throws(DatabaseError) -> Bool {
        let status = sqlite3_step(handle)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        throw database.failure("step", status)
    }

    func text(column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: text)
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }
}
