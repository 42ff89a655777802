/// The sqlite consumer's tables, indexes and insert statements (docs/SQLITE.md).
enum Schema {
    /// Every table the plugin writes; `mode: replace` drops them.
    static let tables = ["file_entries", "records_json", "records_text", "records_bytes"]

    /// The tables; kept when they exist (`mode: append`).
    static let create = """
        CREATE TABLE IF NOT EXISTS file_entries (
            worker TEXT NOT NULL, instance INTEGER NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL,
            path BLOB NOT NULL, path_text TEXT, type TEXT, size INTEGER, mode INTEGER, uid INTEGER, gid INTEGER,
            mtime_ns INTEGER, inode INTEGER, device INTEGER, nlink INTEGER,
            error TEXT, errno INTEGER, op TEXT);
        CREATE TABLE IF NOT EXISTS records_json (
            worker TEXT NOT NULL, instance INTEGER NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL,
            type INTEGER NOT NULL, json TEXT, payload BLOB);
        CREATE TABLE IF NOT EXISTS records_text (
            worker TEXT NOT NULL, instance INTEGER NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL,
            type INTEGER NOT NULL, text TEXT, payload BLOB);
        CREATE TABLE IF NOT EXISTS records_bytes (
            worker TEXT NOT NULL, instance INTEGER NOT NULL, generation INTEGER NOT NULL, seq INTEGER NOT NULL,
            type INTEGER NOT NULL, payload BLOB NOT NULL);
        """

    /// Made at `close` (bulk loading into unindexed tables is several times faster), and kept:
    /// a later run in `append` mode maintains them row by row.
    static let indexes = """
        CREATE INDEX IF NOT EXISTS file_entries_path_text ON file_entries(path_text);
        CREATE INDEX IF NOT EXISTS file_entries_type ON file_entries(type);
        CREATE INDEX IF NOT EXISTS file_entries_size ON file_entries(size);
        CREATE INDEX IF NOT EXISTS file_entries_origin ON file_entries(worker, instance, seq);
        CREATE INDEX IF NOT EXISTS records_json_origin ON records_json(worker, instance, seq);
        CREATE INDEX IF NOT EXISTS records_text_origin ON records_text(worker, instance, seq);
        CREATE INDEX IF NOT EXISTS records_bytes_origin ON records_bytes(worker, instance, seq);
        """

    static let insertFileEntry = """
        INSERT INTO file_entries (worker, instance, generation, seq, path, path_text, type, size, mode, uid, gid,
            mtime_ns, inode, device, nlink, error, errno, op)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
        """
    static let insertJSON = "INSERT INTO records_json (worker, instance, generation, seq, type, json, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    static let insertText = "INSERT INTO records_text (worker, instance, generation, seq, type, text, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    static let insertBytes = "INSERT INTO records_bytes (worker, instance, generation, seq, type, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
}
