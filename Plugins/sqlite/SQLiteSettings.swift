import RingmasterConsumerKit

/// The `sqlite` consumer's settings, checked: every problem is collected with its key.
struct SQLiteSettings {
    /// What happens to rows already in the database when it is opened.
    enum Mode: String {
        /// Keep them and add this run's rows.
        case append
        /// Drop the plugin's tables (and their rows) and create them afresh.
        case replace
    }

    static let keys: Set<String> = ["path", "mode", "batch_rows", "commit_interval", "synchronous", "indexes"]

    var path: String
    var mode = Mode.append
    /// Rows per transaction: a commit follows the consume call that reaches this many.
    var batchRows = 5000
    /// Pending rows are committed at least this often (a slow stream is still durable).
    var commitInterval = Duration.seconds(1)
    /// `PRAGMA synchronous`: `off`, `normal` (WAL's safe default) or `full`.
    var synchronous = "normal"
    /// Whether `close` creates the indexes (docs/SQLITE.md); false leaves a bare table to load fast.
    var indexes = true

    init(_ settings: ConsumerSettings) throws(SettingsError) {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: Self.keys, plugin: "sqlite", into: &problems)
        let path = settings.string("path", problems: &problems)
        if path == nil && settings["path"] == nil {
            problems.append(.init(key: nil, message: "the sqlite consumer needs a path (the database file, e.g. path: walk.sqlite)"))
        } else if path == "" {
            problems.append(.init(key: "path", message: "must not be empty"))
        }
        self.path = path ?? ""
        if let text = settings.string("mode", problems: &problems) {
            if let mode = Mode(rawValue: text) {
                self.mode = mode
            } else {
                problems.append(.init(key: "mode", message: "must be append or replace (got '\(text)')"))
            }
        }
        switch settings["batch_rows"] {
        case nil: break
        case .integer(let n)? where n >= 1 && n <= 10_000_000: batchRows = Int(n)
        default: problems.append(.init(key: "batch_rows", message: "must be an integer from 1 to 10000000"))
        }
        if let interval = settings.duration("commit_interval", problems: &problems) {
            if interval > .zero {
                commitInterval = interval
            } else {
                problems.append(.init(key: "commit_interval", message: "must be a positive duration such as 1s"))
            }
        }
        if let text = settings.string("synchronous", problems: &problems) {
            if ["off", "normal", "full"].contains(text) {
                synchronous = text
            } else {
                problems.append(.init(key: "synchronous", message: "must be off, normal or full (got '\(text)')"))
            }
        }
        switch settings["indexes"] {
        case nil: break
        case .bool(let flag)?: indexes = flag
        default: problems.append(.init(key: "indexes", message: "must be true or false"))
        }
        if !problems.isEmpty { throw SettingsError(problems) }
    }
}
