import Foundation

/// Where a worker's captured stdout and stderr lines go besides the supervisor's log: a file of
/// its own, rotated by size.
///
/// Every instance of the worker writes to the same file; each line names its instance.
public struct LogSpec: Hashable, Sendable {
    /// The file as an absolute, lexically normalised path (a relative `path` in the manifest is
    /// taken against the manifest's directory, like `cwd`).
    public var path: String
    /// When the next line would take the file past this many bytes, the file is rotated first;
    /// at least `minimumMaxSize`.
    public var maxSize: UInt64
    /// Rotated files kept (`FILE.1` … `FILE.keep`), 0...100; with 0 the file starts over instead.
    public var keep: Int
    /// Where `path` is written in the manifest (for errors that involve two workers).
    public var position: SourcePosition

    /// Makes a log spec; the manifest reader enforces the ranges, this initializer does not.
    public init(path: String, maxSize: UInt64 = Self.defaultMaxSize, keep: Int = Self.defaultKeep,
                position: SourcePosition) {
        self.path = path
        self.maxSize = maxSize
        self.keep = keep
        self.position = position
    }

    /// 10 MiB.
    public static let defaultMaxSize: UInt64 = 10 << 20
    /// 5 rotated files.
    public static let defaultKeep = 5
    /// 4 KiB: a smaller file would hold only a few lines.
    public static let minimumMaxSize: UInt64 = 4 << 10
    /// The accepted `keep` values.
    public static let keepRange = 0...100
}

/// The `log` keys one layer (`defaults` or a worker) wrote; nil means inherited.
struct LogLayer {
    var path: Located<String>?
    var maxSize: UInt64?
    var keep: Int?
}

extension ManifestDecoder {
    static let logKeys = ["path", "max_size", "keep"]

    /// Reads a `log` map; bad values are reported and left out of the layer. A worker's log must
    /// name its `path`; `defaults` must not, because every worker needs a file of its own.
    func logLayer(_ entry: Entry, in parent: MapNode, inDefaults: Bool) -> LogLayer {
        var layer = LogLayer()
        guard let map = map(entry, in: parent, expected: "a map with path, max_size and keep") else { return layer }
        rejectUnknownKeys(map, known: Self.logKeys)
        if let path = map["path"] {
            if inDefaults {
                report(map.field("path"), at: path.keyPosition,
                       "is not allowed in defaults: every worker needs a log file of its own (set path in each worker's log)")
            } else {
                layer.path = logFile(map.slot(path))
            }
        } else if !inDefaults {
            reportMissing("path", in: map, expected: "the file the worker's output lines are written to")
        }
        if let maxSize = map["max_size"], let size = size(map.slot(maxSize)) {
            if size.value >= LogSpec.minimumMaxSize {
                layer.maxSize = size.value
            } else {
                report(map.field("max_size"), at: size.position, "must be at least 4KiB (got \(size.text))")
            }
        }
        if let keep = map["keep"] {
            layer.keep = integer(map.slot(keep), in: LogSpec.keepRange, expected: "an integer from 0 to 100")?.value
        }
        return layer
    }

    /// The worker's log: its own layer over the defaults' layer; nil without a usable path.
    func log(_ layer: LogLayer, over defaults: LogLayer) -> LogSpec? {
        guard let path = layer.path else { return nil }
        return LogSpec(path: path.value, maxSize: layer.maxSize ?? defaults.maxSize ?? LogSpec.defaultMaxSize,
                       keep: layer.keep ?? defaults.keep ?? LogSpec.defaultKeep, position: path.position)
    }

    /// `log.path`: a file path, made absolute against the manifest's directory; an existing
    /// directory is refused. The file itself need not exist (it is created when the run starts).
    private func logFile(_ slot: Slot) -> Located<String>? {
        guard let written = text(slot, expected: "a file path", allowEmpty: false) else { return nil }
        let path = CommandResolver.absolute(written.value, against: resolver.workingDirectory)
        var isDirectory: ObjCBool = false
        if written.value.hasSuffix("/")
            || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            let looked = path == written.value ? "" : " (looked for \(path))"
            report(slot.field, at: slot.position, "'\(written.value)' is a directory; name a file\(looked)")
            return nil
        }
        return Located(value: path, text: written.value, position: slot.position)
    }

    /// Two workers may not share a log file: each rotates its own, by its own size and count.
    /// Paths are compared as made absolute (symbolic links are not followed).
    func rejectSharedLogFiles(_ workers: [WorkerSpec]) {
        var owners: [String: String] = [:]
        for worker in workers {
            guard let log = worker.log else { continue }
            if let first = owners[log.path] {
                report("workers.\(worker.name).log.path", at: log.position,
                       "names the log file of worker \(first) too (\(log.path)); every worker needs a file of its own")
            } else {
                owners[log.path] = worker.name
            }
        }
    }
}
