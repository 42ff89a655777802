/// One `workers` entry, fully resolved: defaults applied, command found, ranges checked.
public struct WorkerSpec: Hashable, Sendable {
    /// The worker's name (letters, digits, `_`, `-`); instances are labelled `name.0`, `name.1`, ...
    public var name: String
    /// The command as written in the manifest.
    public var command: String
    /// The absolute path the command resolved to (see `CommandResolver`).
    public var executable: String
    /// Arguments after the program name; scalars are taken as written (`1` is `"1"`).
    public var args: [String]
    /// Extra environment variables; scalar values are taken as written (`true` is `"true"`).
    public var env: [String: String]
    /// The working directory as an absolute path (relative paths in the manifest resolve against
    /// the manifest's directory), or nil to inherit the supervisor's.
    public var cwd: String?
    /// The pool size, 1...1024.
    public var instances: Int
    /// The declared record format (default `bytes`).
    public var format: RecordFormat
    /// The ring, after `defaults.channel` and the worker's own `channel` are applied.
    public var channel: ChannelSpec
    /// The restart policy, after `defaults.restart` and the worker's own `restart` are applied.
    public var restart: RestartSpec
    /// The stop procedure, after `defaults.stop` and the worker's own `stop` are applied.
    public var stop: StopSpec
    /// Its output lines' own file (`log`), or nil when they go only to the supervisor's log.
    /// Set by the manifest reader; not an initializer parameter.
    public var log: LogSpec? = nil
    /// The consumers its records go to, in manifest order; empty means the records are drained
    /// and counted but delivered nowhere.
    public var to: [String]
    /// How long a running instance may commit nothing (no record of any type) while not blocked
    /// on a full ring before it is stopped as stalled; nil (the default) means no stall detection.
    public var stallTimeout: Duration? = nil
    /// Where the worker's name is written in the manifest.
    public var position: SourcePosition

    /// Makes a worker spec; `Manifest.parse` is the usual source of these.
    public init(name: String, command: String, executable: String, args: [String] = [],
                env: [String: String] = [:], cwd: String? = nil, instances: Int = 1,
                format: RecordFormat = .bytes, channel: ChannelSpec = .default,
                restart: RestartSpec = .default, stop: StopSpec = .default, to: [String] = [],
                position: SourcePosition) {
        self.name = name
        self.command = command
        self.executable = executable
        self.args = args
        self.env = env
        self.cwd = cwd
        self.instances = instances
        self.format = format
        self.channel = channel
        self.restart = restart
        self.stop = stop
        self.to = to
        self.position = position
    }
}

/// A consumer setting as YAML typed it: plain `5` is an integer, `"5"` a string, `yes` a bool
/// (YAML 1.1 rules, as Yams resolves them), `~` or nothing null. Timestamps and other tags are strings.
public enum SettingValue: Hashable, Sendable {
    /// A string (quoted, or plain text that is no other type).
    case string(String)
    /// An integer (`12`, `0x1f`, `1_000`).
    case integer(Int)
    /// A floating-point number (`0.5`, `1e3`, `.inf`).
    case double(Double)
    /// A boolean (`true`, `false`, `yes`, `no`, `on`, `off`).
    case bool(Bool)
    /// A list of values.
    case list([SettingValue])
    /// A map from string keys to values.
    case map([String: SettingValue])
    /// An explicit or empty null.
    case null
}

/// One `consumers` entry: which plugin, and every other key as the plugin's settings.
public struct ConsumerSpec: Hashable, Sendable {
    /// The consumer's name, used in workers' `to` lists.
    public var name: String
    /// The plugin to load (a non-empty string; the supervisor decides how names map to libraries).
    public var plugin: String
    /// Every key of the entry except `plugin`; the plugin validates them.
    public var settings: [String: SettingValue]
    /// Where each setting's value starts (and the `plugin` value's), so the plugin's complaints
    /// can name a position.
    public var settingPositions: [String: SourcePosition]
    /// Where the consumer's name is written in the manifest.
    public var position: SourcePosition

    /// Makes a consumer spec; `Manifest.parse` is the usual source of these.
    public init(name: String, plugin: String, settings: [String: SettingValue] = [:],
                settingPositions: [String: SourcePosition] = [:], position: SourcePosition) {
        self.name = name
        self.plugin = plugin
        self.settings = settings
        self.settingPositions = settingPositions
        self.position = position
    }

    /// A plugin-side error about setting `key`, positioned at its value (or at the consumer's
    /// name when the key is absent) and named `consumers.<name>.<key>`.
    public func error(setting key: String, _ message: String) -> ManifestError {
        ManifestError(position: settingPositions[key] ?? position, field: "consumers.\(name).\(key)",
                      message: message)
    }
}
