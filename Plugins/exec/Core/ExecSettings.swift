import RingmasterConsumerKit

/// How records are written to the child's standard input.
public enum ExecFormat: String, Sendable, CaseIterable {
    /// One JSON Lines envelope per record, as the `jsonl` consumer writes.
    case jsonl
    /// Length-prefixed frames (`BinaryFrame`).
    case binary
}

/// The `exec` consumer's settings, checked: what to run and how.
public struct ExecSettings: Equatable, Sendable {
    /// A path (relative to the manifest's directory when it holds a `/`) or a name on PATH.
    public var command: String
    public var arguments: [String] = []
    /// Added to (or replacing in) the supervisor's environment, sorted by name.
    public var environment: [(name: String, value: String)] = []
    public var format: ExecFormat = .jsonl
    /// How long `close` waits for the child after end of input before SIGKILL.
    public var grace: Duration = .seconds(5)
    public var restart = ChildRestartSpec()

    public static let keys: Set<String> = ["command", "args", "env", "format", "grace", "restart"]
    static let restartKeys = ["policy", "success_exit_codes", "backoff", "budget", "reset_after"]
    static let backoffKeys = ["initial", "max", "factor", "jitter", "jitter_mode"]
    static let budgetKeys = ["restarts", "within"]

    public static func == (a: ExecSettings, b: ExecSettings) -> Bool {
        a.command == b.command && a.arguments == b.arguments && a.format == b.format
            && a.environment.map { "\($0.name)=\($0.value)" } == b.environment.map { "\($0.name)=\($0.value)" }
            && a.grace == b.grace && a.restart == b.restart
    }

    /// Reads and checks every setting; throws every problem found, each at its key (a problem
    /// inside `restart` is reported at `restart`, naming the inner key).
    public init(_ settings: ConsumerSettings) throws(SettingsError) {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: Self.keys, plugin: "exec", into: &problems)
        let command = settings.string("command", problems: &problems)
        if settings["command"] == nil {
            problems.append(.init(key: nil, message: "the exec consumer needs a command (a path or a name on PATH)"))
        } else if command == "" {
            problems.append(.init(key: "command", message: "must not be empty"))
        }
        self.command = command ?? ""
        switch settings["args"] {
        case nil: break
        case .list(let items)?:
            for (index, item) in items.enumerated() {
                switch item {
                case .string(let text): arguments.append(text)
                case .integer(let n): arguments.append(String(n))
                default: problems.append(.init(key: "args", message: "item \(index) must be a string"))
                }
            }
        default: problems.append(.init(key: "args", message: "must be a list of strings"))
        }
        switch settings["env"] {
        case nil: break
        case .map(let map)?:
            for name in map.keys.sorted() {
                if name.isEmpty || name.contains("=") {
                    problems.append(.init(key: "env", message: "'\(name)' is not a variable name"))
                }
                switch map[name]! {
                case .string(let text): environment.append((name, text))
                case .integer(let n): environment.append((name, String(n)))
                default: problems.append(.init(key: "env", message: "\(name) must be a string"))
                }
            }
        default: problems.append(.init(key: "env", message: "must be a map of variable names to strings"))
        }
        if let text = settings.string("format", problems: &problems) {
            if let format = ExecFormat(rawValue: text) { self.format = format } else {
                problems.append(.init(key: "format", message: "must be one of jsonl, binary (got '\(text)')"))
            }
        }
        if let grace = settings.duration("grace", problems: &problems) { self.grace = grace }
        if let value = settings["restart"] {
            var inner = RestartReader()
            restart = inner.read(value)
            problems += inner.problems.map { .init(key: "restart", message: $0) }
        }
        if !problems.isEmpty { throw SettingsError(problems) }
    }
}

/// Reads the `restart` map with the workers' rules; problems name the inner key.
private struct RestartReader {
    var problems: [String] = []

    mutating func read(_ value: ConsumerSettings.Value) -> ChildRestartSpec {
        var spec = ChildRestartSpec()
        guard case .map(let map) = value else {
            problems.append("must be a map with \(ExecSettings.restartKeys.joined(separator: ", "))")
            return spec
        }
        reject(map, known: ExecSettings.restartKeys, in: "")
        if let text = string(map["policy"], "policy") {
            if let policy = ChildRestartSpec.Policy(rawValue: text) { spec.policy = policy } else {
                problems.append("policy must be one of always, on-failure, never (got '\(text)')")
            }
        }
        if let codes = map["success_exit_codes"] {
            if case .list(let items) = codes, items.allSatisfy({ if case .integer(let n) = $0 { (0...255).contains(n) } else { false } }) {
                spec.successExitCodes = Set(items.compactMap { if case .integer(let n) = $0 { Int32(n) } else { nil } })
            } else {
                problems.append("success_exit_codes must be a list of exit codes from 0 to 255")
            }
        }
        if let backoff = map["backoff"] {
            if case .map(let inner) = backoff {
                reject(inner, known: ExecSettings.backoffKeys, in: "backoff.")
                if let d = duration(inner["initial"], "backoff.initial") {
                    if d > .zero { spec.initial = d } else { problems.append("backoff.initial must be greater than zero") }
                }
                if let d = duration(inner["max"], "backoff.max") { spec.max = d }
                if spec.max < spec.initial {
                    problems.append("backoff.max must be at least backoff.initial")
                }
                if let f = number(inner["factor"], "backoff.factor", "a number ≥ 1", { $0 >= 1 }) { spec.factor = f }
                if let j = number(inner["jitter"], "backoff.jitter", "a number from 0 to 1", { (0...1).contains($0) }) { spec.jitter = j }
                if let text = string(inner["jitter_mode"], "backoff.jitter_mode") {
                    if let mode = ChildRestartSpec.JitterMode(rawValue: text) { spec.jitterMode = mode } else {
                        problems.append("backoff.jitter_mode must be one of proportional, full (got '\(text)')")
                    }
                }
            } else {
                problems.append("backoff must be a map with \(ExecSettings.backoffKeys.joined(separator: ", "))")
            }
        }
        if let budget = map["budget"] {
            if case .map(let inner) = budget {
                reject(inner, known: ExecSettings.budgetKeys, in: "budget.")
                switch inner["restarts"] {
                case nil: break
                case .integer(let n)? where n >= 0: spec.restarts = Int(n)
                default: problems.append("budget.restarts must be an integer ≥ 0")
                }
                if let d = duration(inner["within"], "budget.within") {
                    if d > .zero { spec.within = d } else { problems.append("budget.within must be greater than zero") }
                }
            } else {
                problems.append("budget must be a map with restarts and within")
            }
        }
        if let d = duration(map["reset_after"], "reset_after") { spec.resetAfter = d }
        return spec
    }

    private mutating func reject(_ map: [String: ConsumerSettings.Value], known: [String], in prefix: String) {
        for key in map.keys.sorted() where !known.contains(key) {
            problems.append("\(prefix)\(key) is not a restart setting (known: \(known.joined(separator: ", ")))")
        }
    }

    private mutating func string(_ value: ConsumerSettings.Value?, _ name: String) -> String? {
        switch value {
        case nil: return nil
        case .string(let text)?: return text
        default:
            problems.append("\(name) must be a string")
            return nil
        }
    }

    private mutating func duration(_ value: ConsumerSettings.Value?, _ name: String) -> Duration? {
        guard let text = string(value, name) else { return nil }
        guard let duration = ConsumerSettings.parseDuration(text) else {
            problems.append("\(name) must be a duration such as 50ms, 5s or 2m (got '\(text)')")
            return nil
        }
        return duration
    }

    private mutating func number(_ value: ConsumerSettings.Value?, _ name: String, _ expected: String,
                                 _ valid: (Double) -> Bool) -> Double? {
        let number: Double? = switch value {
        case nil: nil
        case .integer(let n)?: Double(n)
        case .number(let x)?: x
        default: .nan
        }
        guard let number else { return nil }
        guard !number.isNaN, valid(number) else {
            problems.append("\(name) must be \(expected)")
            return nil
        }
        return number
    }
}
