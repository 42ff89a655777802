import Manifest

/// Builds the built-in consumers from their manifest entries, checking their settings.
enum ConsumerFactory {
    /// The built-in consumer names.
    static let builtins = ["stdout", "jsonl", "stats"]

    static func make(_ spec: ConsumerSpec) throws(SupervisorError) -> any Consumer {
        switch spec.plugin {
        case "stdout":
            try allow([], in: spec)
            return StdoutConsumer()
        case "jsonl":
            try allow(["path"], in: spec)
            let path = try string("path", in: spec)
            do { return try JSONLinesConsumer(path: path) } catch {
                throw .consumer(ManifestError(position: spec.settingPositions["path"] ?? spec.position,
                                              field: "consumers.\(spec.name).path", message: "cannot be opened: \(error)"))
            }
        case "stats":
            try allow(["interval"], in: spec)
            var interval: Duration? = nil
            if let text = try string("interval", in: spec) {
                guard let parsed = Units.duration(text), parsed > .zero else {
                    throw .consumer(ManifestError(position: spec.settingPositions["interval"] ?? spec.position,
                                                  field: "consumers.\(spec.name).interval",
                                                  message: "must be a positive duration such as 5s (got '\(text)')"))
                }
                interval = parsed
            }
            return StatsConsumer(interval: interval)
        default:
            throw .consumer(ManifestError(position: spec.position, field: "consumers.\(spec.name).plugin",
                                          message: "names an unknown consumer '\(spec.plugin)' (built in: \(builtins.joined(separator: ", ")))"))
        }
    }

    private static func allow(_ keys: Set<String>, in spec: ConsumerSpec) throws(SupervisorError) {
        for key in spec.settings.keys.sorted() where !keys.contains(key) {
            let expected = keys.isEmpty ? "takes no settings" : "takes \(keys.sorted().joined(separator: ", "))"
            throw .consumer(ManifestError(position: spec.settingPositions[key] ?? spec.position,
                                          field: "consumers.\(spec.name).\(key)",
                                          message: "is not a setting of the \(spec.plugin) consumer (it \(expected))"))
        }
    }

    private static func string(_ key: String, in spec: ConsumerSpec) throws(SupervisorError) -> String? {
        guard let value = spec.settings[key] else { return nil }
        switch value {
        case .string(let text): return text
        case .integer(let n): return String(n)
        default:
            throw .consumer(ManifestError(position: spec.settingPositions[key] ?? spec.position,
                                          field: "consumers.\(spec.name).\(key)", message: "must be a string"))
        }
    }
}
