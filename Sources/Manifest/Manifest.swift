import Foundation
import Yams

/// A validated manifest: every worker and consumer with defaults applied, commands resolved,
/// routes checked.
///
/// Reading rules beyond the schema in docs/MANIFEST.md:
/// - every error is collected, and all are thrown together in position order (`ManifestErrors`);
/// - relative `cwd` values and relative command paths resolve against the manifest's directory;
/// - a worker without `to` is allowed: its records are drained and counted, but go nowhere;
/// - `defaults` and a worker's own `channel`, `restart` and `stop` override field by field,
///   nested maps included (`restart: { backoff: { max: 1m } }` keeps every other default);
/// - a key written twice in one map is an error (Yams reports where the key is first used).
public struct Manifest: Hashable, Sendable {
    /// The file name errors carry: the path given to `load`, or the label given to `parse`.
    public var file: String
    /// The schema version; 1.
    public var version: Int
    /// The workers, in file order.
    public var workers: [WorkerSpec]
    /// The consumers, in file order.
    public var consumers: [ConsumerSpec]
    /// Where to serve Prometheus metrics over HTTP (nil: not served).
    public var metrics: MetricsSpec?

    /// Makes a manifest from parts (tests and tools); `parse` and `load` validate, this does not.
    public init(file: String, version: Int = 1, workers: [WorkerSpec], consumers: [ConsumerSpec], metrics: MetricsSpec? = nil) {
        self.file = file
        self.version = version
        self.workers = workers
        self.consumers = consumers
        self.metrics = metrics
    }

    /// The worker called `name`, if any.
    public func worker(named name: String) -> WorkerSpec? { workers.first { $0.name == name } }

    /// The consumer called `name`, if any.
    public func consumer(named name: String) -> ConsumerSpec? { consumers.first { $0.name == name } }

    /// Reads and validates the manifest at `path`; errors name `path` as written. A relative
    /// `path` is taken against `resolver.workingDirectory` (normally the current directory), and
    /// relative paths inside the manifest against the manifest's own directory.
    public static func load(path: String, resolver: CommandResolver) throws(ManifestErrors) -> Manifest {
        let whole = SourcePosition(file: path, line: 1, column: 1)
        func fail(_ message: String) -> ManifestErrors {
            ManifestErrors([ManifestError(position: whole, field: "", message: message)])
        }
        let absolute = CommandResolver.absolute(path, against: resolver.workingDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw fail("cannot read the manifest: no such file")
        }
        guard !isDirectory.boolValue else { throw fail("cannot read the manifest: it is a directory") }
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw fail("cannot read the manifest: permission denied or I/O error")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw fail("cannot read the manifest: it is not UTF-8 text")
        }
        return try parse(text, file: path, resolver: resolver.relativeTo(CommandResolver.directory(of: absolute)))
    }

    /// Validates manifest `text`; errors name `file`. Relative paths inside it resolve against
    /// `resolver.workingDirectory`, which should be the manifest's directory.
    public static func parse(_ text: String, file: String, resolver: CommandResolver) throws(ManifestErrors) -> Manifest {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ManifestErrors([syntaxError(error, file: file, text: text)])
        }
        let decoder = ManifestDecoder(file: file, resolver: resolver)
        guard let manifest = decoder.manifest(root) else { throw ManifestErrors(decoder.errors) }
        return manifest
    }

    /// A Yams error as a positioned `ManifestError` with no field.
    static func syntaxError(_ error: any Error, file: String, text: String) -> ManifestError {
        func at(line: Int, column: Int, _ message: String) -> ManifestError {
            ManifestError(position: SourcePosition(file: file, line: line, column: column), field: "", message: message)
        }
        func at(_ mark: Mark, _ message: String) -> ManifestError { at(line: mark.line, column: mark.column, message) }
        func during(_ context: YamlError.Context?) -> String {
            context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return at(mark, "invalid YAML: \(problem)\(during(context))")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return at(context.mark, "invalid YAML: \(keys) appears more than once in the same map")
        case .reader(let problem, let offset, _, _):
            let prefix = text.prefix(offset ?? 0)
            let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            let column = prefix.reversed().prefix { $0 != "\n" }.count + 1
            return at(line: line, column: column, "invalid YAML text: \(problem)")
        default:
            return at(line: 1, column: 1, "invalid YAML: \(error)")
        }
    }
}
