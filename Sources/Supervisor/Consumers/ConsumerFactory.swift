import Manifest

/// Checks the built-in consumers' settings and builds them.
///
/// Checking has no side effects (no file is opened), so `ringmaster validate` reports consumer
/// errors too, every one of them, with the manifest position.
public enum ConsumerFactory {
    /// The built-in consumer names.
    public static let builtins = ["stdout", "jsonl", "stats", "discard"]

    /// What a consumer entry asks for, once its settings are checked.
    enum Plan {
        case stdout
        case jsonl(path: String?)
        case stats(interval: Duration?)
        case discard
    }

    /// Every error in the manifest's consumer entries (empty when all are valid).
    public static func check(_ manifest: Manifest) -> [ManifestError] {
        var errors: [ManifestError] = []
        for spec in manifest.consumers { _ = plan(spec, manifestFile: manifest.file, errors: &errors) }
        return errors.sorted { $0.position < $1.position }
    }

    /// Builds a checked consumer; relative `jsonl` paths resolve against the manifest's directory.
    static func make(_ spec: ConsumerSpec, manifestFile: String) throws(SupervisorError) -> any Consumer {
        var errors: [ManifestError] = []
        guard let plan = plan(spec, manifestFile: manifestFile, errors: &errors), errors.isEmpty else {
            throw .consumers(errors)
        }
        switch plan {
        case .stdout: return StdoutConsumer()
        case .discard: return DiscardConsumer()
        case .stats(let interval): return StatsConsumer(interval: interval)
        case .jsonl(let path):
            do { return try JSONLinesConsumer(path: path) } catch {
                throw .consumers([spec.error(setting: "path", "cannot be opened: \(error)")])
            }
        }
    }

    private static func plan(_ spec: ConsumerSpec, manifestFile: String, errors: inout [ManifestError]) -> Plan? {
        switch spec.plugin {
        case "stdout":
            allow([], in: spec, errors: &errors)
            return .stdout
        case "discard":
            allow([], in: spec, errors: &errors)
            return .discard
        case "jsonl":
            allow(["path"], in: spec, errors: &errors)
            guard let path = string("path", in: spec, errors: &errors) else { return .jsonl(path: nil) }
            guard !path.isEmpty else {
                errors.append(spec.error(setting: "path", "must not be empty (leave it out to write to standard output)"))
                return nil
            }
            return .jsonl(path: resolve(path, against: manifestFile))
        case "stats":
            allow(["interval"], in: spec, errors: &errors)
            guard let text = string("interval", in: spec, errors: &errors) else { return .stats(interval: nil) }
            guard let interval = Units.duration(text), interval > .zero else {
                errors.append(spec.error(setting: "interval", "must be a positive duration such as 5s (got '\(text)')"))
                return nil
            }
            return .stats(interval: interval)
        default:
            let hint = Suggestion.closest(to: spec.plugin, among: builtins).map { "did you mean '\($0)'? " } ?? ""
            errors.append(spec.error(setting: "plugin",
                                     "names an unknown consumer '\(spec.plugin)' (\(hint)built in: \(builtins.joined(separator: ", ")))"))
            return nil
        }
    }

    private static func allow(_ keys: Set<String>, in spec: ConsumerSpec, errors: inout [ManifestError]) {
        for key in spec.settings.keys.sorted() where !keys.contains(key) {
            let expected = keys.isEmpty ? "takes no settings" : "takes \(keys.sorted().joined(separator: ", "))"
            errors.append(spec.error(setting: key, "is not a setting of the \(spec.plugin) consumer (it \(expected))"))
        }
    }

    private static func string(_ key: String, in spec: ConsumerSpec, errors: inout [ManifestError]) -> String? {
        guard let value = spec.settings[key] else { return nil }
        switch value {
        case .string(let text): return text
        case .integer(let n): return String(n)
        default:
            errors.append(spec.error(setting: key, "must be a string"))
            return nil
        }
    }

    /// `path` as is when absolute, else relative to the manifest's directory.
    private static func resolve(_ path: String, against manifestFile: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        guard let slash = manifestFile.lastIndex(of: "/") else { return path }
        return String(manifestFile[..<slash]) + "/" + path
    }
}
