/// What to walk and how, from the command line (and so from the manifest's `args`).
///
/// Parsing is a pure function of the argument bytes, so every rule is testable without a walk.
/// Roots stay raw bytes: a root whose name is not UTF-8 is walked as named.
struct WalkOptions: Equatable {
    /// The trees to walk, in the order given; paths are emitted as `root/child/...`.
    var roots: [[UInt8]] = []
    /// Do not descend into directories on another device than their root (like `find -xdev`).
    var oneFileSystem = false
    /// Follow symbolic links (like `find -L`); loops are detected by (device, inode) of ancestors.
    var followSymlinks = false
    /// Deepest entry emitted: a root is at depth 0, its children at 1. Directories at this depth are not read.
    var maxDepth = Int.max
    /// `fnmatch` patterns: against the name, or against the whole path when the pattern has a `/`.
    var excludes: [[UInt8]] = []
    /// Stat every entry (`fstatat`); `--no-stat` emits names and types from the directory entries only.
    var statEntries = true
    /// A checkpoint before the next entry once this many records were committed since the last one.
    var checkpointEvery: UInt64 = 4096
    /// Helper threads that stat entries and read directories ahead of the walk; nil: by the CPUs (`StatAhead.defaultHelpers`).
    var statThreads: Int? = nil
    /// Pool sharding: entries down to this depth are spread by hash, deeper ones go with their ancestor.
    var splitDepth = 2

    /// The usage text for `--help`.
    static let usage = """
        usage: ringmaster-walk [options] [--] ROOT...

        Walks each ROOT and commits one file-entry record per entry to the ring of its supervisor
        (run it from a manifest with `format: file-entry`). Entries come in sorted order (bytewise,
        per directory, parents before children); errors become error records and the walk goes on.

          --one-file-system       do not descend into other file systems
          --follow-symlinks       follow symbolic links (loops detected by device and inode)
          --max-depth N           emit entries down to depth N (a root is depth 0)
          --exclude GLOB          skip entries whose name matches GLOB (whose path, when GLOB has a
                                  slash), and everything below them; repeatable
          --no-stat               names and types only, from the directory entries
          --checkpoint-every N    records between checkpoint tokens (default 4096)
          --split-depth N         pool sharding depth (default 2; see docs/WALKER.md)
          --stat-threads N        helper threads that stat entries and read directories
                                  ahead of the walk
                                  (default: CPUs per instance − 1, at most 3; 0 = none)
          -h, --help              this text

        Exit codes: 0 the walk finished (errors on entries do not change it); 1 the ring failed;
        2 a usage error or not started by a supervisor.
        """

    /// Why the command line was refused.
    struct UsageError: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    /// Reads options and roots; `--` ends the options, so a root may start with a dash.
    static func parse(_ arguments: [[UInt8]]) throws(UsageError) -> WalkOptions {
        var options = WalkOptions()
        var index = 0
        func value(_ flag: String) throws(UsageError) -> [UInt8] {
            index += 1
            guard index < arguments.count else { throw UsageError(description: "\(flag) needs a value") }
            return arguments[index]
        }
        func number(_ flag: String, minimum: Int) throws(UsageError) -> Int {
            let text = String(decoding: try value(flag), as: UTF8.self)
            guard let n = Int(text), n >= minimum else {
                throw UsageError(description: "\(flag) needs an integer ≥ \(minimum) (got '\(text)')")
            }
            return n
        }
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            if optionsEnded || argument.first != UInt8(ascii: "-") || argument == [UInt8(ascii: "-")] {
                options.roots.append(argument)
                index += 1
                continue
            }
            switch String(decoding: argument, as: UTF8.self) {
            case "--": optionsEnded = true
            case "--one-file-system", "-x": options.oneFileSystem = true
            case "--follow-symlinks", "-L": options.followSymlinks = true
            case "--no-stat": options.statEntries = false
            case "--max-depth": options.maxDepth = try number("--max-depth", minimum: 0)
            case "--exclude":
                let glob = try value("--exclude")
                guard !glob.isEmpty, !glob.contains(0) else { throw UsageError(description: "--exclude needs a pattern") }
                options.excludes.append(glob)
            case "--checkpoint-every": options.checkpointEvery = UInt64(try number("--checkpoint-every", minimum: 1))
            case "--split-depth": options.splitDepth = try number("--split-depth", minimum: 1)
            case "--stat-threads": options.statThreads = try number("--stat-threads", minimum: 0)
            case "-h", "--help": throw UsageError(description: "")
            case let other: throw UsageError(description: "unknown option \(other) (put -- before a root that starts with a dash)")
            }
            index += 1
        }
        guard !options.roots.isEmpty else { throw UsageError(description: "name at least one ROOT to walk") }
        return options
    }

    /// A digest of everything that shapes the walk order, so a resume token from another
    /// configuration is recognised and not trusted.
    func fingerprint(instance: Int, instances: Int) -> UInt64 {
        var hash = FNV1a()
        for root in roots { hash.add(root); hash.add([0]) }
        for glob in excludes { hash.add(glob); hash.add([1]) }
        let flags = (oneFileSystem ? 1 : 0) | (followSymlinks ? 2 : 0) | (statEntries ? 4 : 0)
        for value in [UInt64(flags), UInt64(clamping: maxDepth), UInt64(splitDepth), UInt64(instance), UInt64(instances)] {
            withUnsafeBytes(of: value.littleEndian) { hash.add($0) }
        }
        return hash.value
    }
}
