import Logging
import Manifest

/// Checks consumer entries and creates consumers, all through the plugin ABI: the built-ins are
/// plugins too (`Plugins/`), found beside the `ringmaster` binary.
///
/// Checking has no side effects beyond loading the libraries: no file is opened, no `create` is
/// called. So `ringmaster validate` reports every consumer error, with its manifest position:
/// an unknown `on_error`, a plugin that cannot be found or loaded, a wrong ABI version, and what
/// the plugin's own `check` says about the settings.
public enum ConsumerFactory {
    /// Every error in the manifest's consumer entries (empty when all are valid), by position.
    public static func check(_ manifest: Manifest, locator: PluginLocator? = nil) -> [ManifestError] {
        let locator = locator ?? .forCurrentProcess(manifestFile: manifest.file)
        var errors: [ManifestError] = []
        for spec in manifest.consumers {
            _ = errorPolicy(spec, errors: &errors)
            switch PluginLoader.load(spec.plugin, locator: locator) {
            case .failure(let failure):
                errors.append(spec.error(setting: "plugin", failure.description))
            case .success(let library):
                if let message = PluginConsumer.check(library, settingsJSON: SettingsJSON.encode(spec.settings)) {
                    errors += manifestErrors(message, in: spec, context: "rejects the settings")
                }
            }
        }
        return errors.sorted { $0.position < $1.position }
    }

    /// Loads and creates a consumer that `check` accepted.
    static func make(_ spec: ConsumerSpec, locator: PluginLocator,
                     logger: Logger) throws(SupervisorError) -> (PluginConsumer, ConsumerErrorPolicy) {
        var errors: [ManifestError] = []
        let policy = errorPolicy(spec, errors: &errors)
        let library: PluginLibrary
        switch PluginLoader.load(spec.plugin, locator: locator) {
        case .failure(let failure): throw .consumers(errors + [spec.error(setting: "plugin", failure.description)])
        case .success(let loaded): library = loaded
        }
        guard errors.isEmpty else { throw .consumers(errors) }
        do {
            let consumer = try PluginConsumer(library: library, name: spec.name,
                                              settingsJSON: SettingsJSON.encode(spec.settings),
                                              manifestDirectory: locator.manifestDirectory, logger: logger)
            return (consumer, policy)
        } catch {
            throw .consumers(manifestErrors(error.message, in: spec, context: "could not create the consumer"))
        }
    }

    private static func errorPolicy(_ spec: ConsumerSpec, errors: inout [ManifestError]) -> ConsumerErrorPolicy {
        guard let value = spec.settings["on_error"] else { return .default }
        let text: String? = if case .string(let text) = value { text } else { nil }
        guard let text, let policy = ConsumerErrorPolicy(setting: text) else {
            let got = text.map { "'\($0)'" } ?? "a value that is not a string"
            let hint = text.flatMap { Suggestion.closest(to: $0, among: ConsumerErrorPolicy.settingValues) }
                .map { "; did you mean '\($0)'?" } ?? ""
            errors.append(spec.error(setting: "on_error",
                                     "must be one of \(ConsumerErrorPolicy.settingValues.joined(separator: ", ")) (got \(got)\(hint))"))
            return .default
        }
        return policy
    }

    /// A plugin's message, one problem per line: "KEY: text" is placed at setting KEY, anything
    /// else at the `plugin` value.
    static func manifestErrors(_ message: String, in spec: ConsumerSpec, context: String) -> [ManifestError] {
        message.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            if let separator = line.range(of: ": ") {
                let key = line[..<separator.lowerBound]
                if !key.isEmpty && key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                    return spec.error(setting: String(key), String(line[separator.upperBound...]))
                }
            }
            return spec.error(setting: "plugin", "'\(spec.plugin)' \(context): \(line)")
        }
    }
}
