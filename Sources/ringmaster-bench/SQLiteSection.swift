import Glibc
import RingChannel
import RingmasterTestSupport

// The sqlite section: a walk into SQLite through Ringmaster (`ringmaster run`, two walker
// instances, the `sqlite` plugin in replace mode: tables, WAL, indexes built at close) against the
// pipeline a user would write instead: `find -printf` with a separator, loaded by `sqlite3
// .import` into a table of the same columns, then the same indexes. Each run starts from no
// database, is timed from spawn to exit, and its row count is checked against the tree.

/// What the sqlite section compares.
enum SQLiteCase: CaseIterable {
    case ringmaster, findImportIndexed, ringmasterBare, findImport

    var label: String {
        switch self {
        case .ringmaster: "ringmaster → walker ×2 → sqlite, indexes"
        case .findImportIndexed: "find -printf | sqlite3 .import, indexes"
        case .ringmasterBare: "ringmaster → walker ×2 → sqlite, no index"
        case .findImport: "find -printf | sqlite3 .import, no index"
        }
    }

    /// The peer a Ringmaster case is compared with (itself for a peer).
    var peer: SQLiteCase {
        switch self {
        case .ringmaster: .findImportIndexed
        case .ringmasterBare: .findImport
        default: self
        }
    }
}

/// Runs and prints the sqlite section.
struct SQLiteSection {
    let scratch: ScratchDirectory
    let runs: Int
    let entries: Int
    let treeNames: [String]
    private(set) var failures: [String] = []
    private var notes: [String] = []
    private var trees: [(label: String, path: String, expected: Int)] = []
    private var times: [String: [SQLiteCase: [Double]]] = [:]
    private let ringmaster = executableDirectory() + "/ringmaster"
    private let walker = executableDirectory() + "/ringmaster-walk"
    private let sqlite3 = findOnPath("sqlite3")

    init(scratch: ScratchDirectory, options: BenchOptions) {
        self.scratch = scratch
        runs = options.walkRuns
        entries = options.walkEntries
        treeNames = options.walkTrees
    }

    mutating func measure() {
        guard let sqlite3 else {
            failures.append("sqlite3 is not on PATH (make bench installs the Debian package sqlite3)")
            return
        }
        var generated: WalkTree? = nil
        defer { generated?.remove() }
        for name in treeNames {
            do {
                if name == WalkReport.generatedName {
                    let tree = try WalkTree(at: scratch.path + "/sqlite-tree", entries: entries)
                    generated = tree
                    trees.append((name, tree.root, tree.entries))
                } else {
                    let count = try scalar(sqlite3: nil, "/bin/sh", ["-c", "find \(shellQuoted(name)) | wc -l"])
                    trees.append((name, name, count))
                }
                notes.append("\(name): \(Report.grouped(Double(trees.last!.expected))) entries")
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        for tree in trees {
            for sqliteCase in SQLiteCase.allCases { _ = attempt(sqliteCase, tree, "warm-up", sqlite3: sqlite3) }
        }
        for round in 0..<runs {
            for tree in trees {
                for sqliteCase in SQLiteCase.allCases {
                    if let seconds = attempt(sqliteCase, tree, "run \(round + 1)", sqlite3: sqlite3) {
                        times[tree.label, default: [:]][sqliteCase, default: []].append(seconds)
                    }
                }
            }
        }
    }

    private mutating func attempt(_ sqliteCase: SQLiteCase, _ tree: (label: String, path: String, expected: Int), _ what: String,
                                  sqlite3: String) -> Double? {
        do { return try run(sqliteCase, tree, sqlite3: sqlite3) } catch {
            failures.append("\(what), \(sqliteCase.label), \(tree.label): \(error)")
            return nil
        }
    }

    /// One timed run from no database; throws when it fails or its row count is not the tree's.
    private func run(_ sqliteCase: SQLiteCase, _ tree: (label: String, path: String, expected: Int), sqlite3: String) throws(BenchFailure) -> Double {
        let database = scratch.file("bench.sqlite")
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(scratch.file("bench.sqlite" + suffix)) }
        let seconds: Double
        switch sqliteCase {
        case .ringmaster, .ringmasterBare:
            let manifest = try scratch.write("sqlite.yaml", """
                version: 1
                workers:
                  walker:
                    command: \(walker)
                    args: ["\(tree.path)", "--split-depth", "4"]
                    instances: 2
                    channel: { kind: memfd, ring: 4MiB, max_record: 64KiB }
                    format: file-entry
                    restart: { policy: never }
                    to: [index]
                consumers:
                  index: { plugin: sqlite, path: \(database), mode: replace, indexes: \(sqliteCase == .ringmaster) }
                """)
            seconds = try timed(ringmaster, ["run", manifest])
        case .findImportIndexed, .findImport:
            // \037 (unit separator) between fields: names with a newline would still break it.
            let columns = "path TEXT, type TEXT, size INTEGER, mode INTEGER, uid INTEGER, gid INTEGER, mtime REAL, inode INTEGER, device INTEGER, nlink INTEGER"
            let indexes = sqliteCase == .findImportIndexed
                ? " 'CREATE INDEX p ON file_entries(path); CREATE INDEX t ON file_entries(type); CREATE INDEX s ON file_entries(size);'" : ""
            let pipeline = "find \(shellQuoted(tree.path)) -printf '%p\\037%y\\037%s\\037%m\\037%U\\037%G\\037%T@\\037%i\\037%D\\037%n\\n'"
                + " | \(sqlite3) -cmd 'PRAGMA journal_mode=WAL' -cmd 'CREATE TABLE file_entries (\(columns))'"
                + " -cmd '.separator \"\\037\" \"\\n\"' \(shellQuoted(database)) '.import /dev/stdin file_entries'\(indexes) >/dev/null"
            seconds = try timed("/bin/sh", ["-c", pipeline])
        }
        let rows = try scalar(sqlite3: sqlite3, database, ["SELECT count(*) FROM file_entries"])
        guard rows == tree.expected else { throw BenchFailure("\(rows) rows, the tree has \(tree.expected) entries") }
        return seconds
    }

    /// Seconds from spawn to the end of `path arguments` (output in sqlite.out / sqlite.err).
    private func timed(_ path: String, _ arguments: [String]) throws(BenchFailure) -> Double {
        let out = open(scratch.file("sqlite.out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(scratch.file("sqlite.err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(out)
            close(err)
        }
        let start = MonotonicClock.now()
        let process: SpawnedProcess
        do { process = try SpawnedProcess.spawn(path, arguments, stdoutTo: out, stderrTo: err) } catch {
            throw BenchFailure("spawn \(path): \(error)")
        }
        let status = process.wait()
        let seconds = elapsedSeconds(since: start)
        guard status == .exited(0) else { throw BenchFailure("ended with \(status); stderr ends: \(scratch.read("sqlite.err").suffix(400))") }
        return seconds
    }

    /// The integer a command prints: `sqlite3 DATABASE SQL` when `sqlite3` is given, else `path arguments`.
    private func scalar(sqlite3: String?, _ path: String, _ arguments: [String]) throws(BenchFailure) -> Int {
        let (program, args) = sqlite3.map { ($0, [path] + arguments) } ?? (path, arguments)
        _ = try timed(program, args)
        guard let value = Int(scratch.read("sqlite.out").filter(\.isNumber)) else {
            throw BenchFailure("\(program) printed no number: \(scratch.read("sqlite.out").prefix(200))")
        }
        return value
    }

    func median(_ sqliteCase: SQLiteCase, _ tree: String) -> Double? {
        guard let samples = times[tree]?[sqliteCase], !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The section's lines, and how many of its targets were met out of how many measured.
    func lines() -> (lines: [String], met: Int, measured: Int) {
        var out: [String] = []
        out.append("sqlite: a walk into a SQLite table, from no database to a closed file; warm cache; median of \(runs) runs, rounds interleaving every case and tree")
        out.append("ringmaster: `ringmaster run`, 2 walker instances → sqlite plugin (mode replace, WAL, 5000-row transactions; `indexes`: path_text, type, size, origin at close, or none)")
        out.append("peer: find -printf with \\037 separators | sqlite3 .import into a table of the same stat columns (WAL); `indexes`: then path, type, size")
        out.append("the × column: the matching peer's median ÷ this row's (above 1× = faster)")
        out.append("every run's row count checked against the tree's entries")
        for note in notes { out.append(note) }
        out.append("")
        out.append(pad("tree", 12) + pad("case", 46) + pad("median s", 10, right: true) + pad("min–max s", 16, right: true) + pad("× peer", 10, right: true))
        for tree in trees {
            for sqliteCase in SQLiteCase.allCases {
                var line = pad(tree.label, 12) + pad(sqliteCase.label, 46)
                guard let median = median(sqliteCase, tree.label), let samples = times[tree.label]?[sqliteCase] else {
                    out.append(line + pad("not measured", 10, right: true))
                    continue
                }
                line += pad(Report.fixed(median, 3), 10, right: true)
                line += pad(Report.fixed(samples.min()!, 3) + "–" + Report.fixed(samples.max()!, 3), 16, right: true)
                line += pad(self.median(sqliteCase.peer, tree.label).map { Report.ratio($0 / median) } ?? "-", 10, right: true)
                out.append(line)
            }
            out.append("")
        }
        var met = 0
        var measured = 0
        out.append("sqlite targets (the peer's median time ÷ ringmaster's, measured in this run):")
        for tree in trees {
            for ours in [SQLiteCase.ringmaster, .ringmasterBare] {
                let title = "  " + pad("\(ours.label) vs \(ours.peer.label), " + tree.label, 96)
                guard let time = median(ours, tree.label), let peer = median(ours.peer, tree.label) else {
                    out.append(title + "not measured")
                    continue
                }
                measured += 1
                let ok = peer / time >= 1.0
                if ok { met += 1 }
                out.append(title + pad(Report.ratio(peer / time), 7, right: true) + "  (target ≥ " + Report.ratio(1.0) + ")  " + (ok ? "met" : "NOT MET"))
            }
        }
        return (out, met, measured)
    }
}
