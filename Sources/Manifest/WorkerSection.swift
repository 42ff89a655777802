import Foundation

/// The effective defaults: built-in values with `defaults:` applied.
struct Defaults {
    var channel = ChannelSpec.default
    var restart = RestartSpec.default
    var stop = StopSpec.default
    /// `max_size` and `keep` only: a path in `defaults` is refused.
    var log = LogLayer()
    var stallTimeout: Duration?
}

extension ManifestDecoder {
    static let workerKeys = ["command", "args", "env", "cwd", "instances", "format", "channel", "restart", "stop", "to", "log", "stall_timeout"]
    /// Variables the supervisor sets for every worker (the environment contract).
    static let reservedEnvironmentPrefix = "RINGMASTER_"

    /// Reads one `workers` entry over the effective defaults. Returns nil when the entry is not
    /// a map or has no usable command (the errors are already reported).
    func worker(_ entry: Entry, in workers: MapNode, defaults: Defaults, consumers: [String]) -> WorkerSpec? {
        guard checkName(entry, in: workers, kind: "worker"),
              let map = map(entry, in: workers, expected: "a map with at least command") else { return nil }
        rejectUnknownKeys(map, known: Self.workerKeys)
        var spec = WorkerSpec(name: entry.key, command: "", executable: "", channel: defaults.channel,
                              restart: defaults.restart, stop: defaults.stop, position: entry.keyPosition)
        spec.stallTimeout = defaults.stallTimeout
        if let args = map["args"], let slots = list(map.slot(args), expected: "a list of strings") {
            spec.args = slots.compactMap { text($0, expected: "a string")?.value }
        }
        if let env = map["env"] { spec.env = environment(env, in: map) }
        if let cwd = map["cwd"] { spec.cwd = directory(map.slot(cwd)) }
        if let instances = map["instances"] {
            spec.instances = integer(map.slot(instances), in: 1...1024, expected: "an integer from 1 to 1024")?.value ?? 1
        }
        if let format = map["format"] { spec.format = choice(map.slot(format), RecordFormat.self)?.value ?? .bytes }
        if let channel = map["channel"] {
            spec.channel = self.channel(channelLayer(channel, in: map), over: defaults.channel, path: map.field("channel"))
        }
        if let restart = map["restart"] {
            spec.restart = self.restart(restartLayer(restart, in: map), over: defaults.restart, path: map.field("restart"))
        }
        if let stop = map["stop"] { spec.stop = self.stop(stopLayer(stop, in: map), over: defaults.stop) }
        if let to = map["to"] { spec.to = routes(map.slot(to), consumers: consumers) }
        if let log = map["log"] { spec.log = self.log(logLayer(log, in: map, inDefaults: false), over: defaults.log) }
        if let stall = map["stall_timeout"], let value = durationOrNone(map.slot(stall)) { spec.stallTimeout = value }
        guard let command = map["command"] else {
            reportMissing("command", in: map, expected: "the program to run: a path, a name on PATH, or a program beside ringmaster")
            return nil
        }
        guard let written = text(map.slot(command), expected: "a program name or path", allowEmpty: false) else { return nil }
        spec.command = written.value
        guard let executable = resolver.resolve(written.value) else {
            report(map.field("command"), at: written.position,
                   "'\(written.value)' \(resolver.failureReason(for: written.value))")
            return nil
        }
        spec.executable = executable
        return spec
    }

    /// `env`: names must be non-empty without `=`, and not `RINGMASTER_*`; scalar values are
    /// taken as written.
    private func environment(_ entry: Entry, in parent: MapNode) -> [String: String] {
        guard let map = map(entry, in: parent, expected: "a map from variable names to values") else { return [:] }
        var result: [String: String] = [:]
        for variable in map.entries {
            if variable.key.isEmpty || variable.key.contains("=") || variable.key.contains("\0") {
                report(map.field(variable.key), at: variable.keyPosition,
                       "is not a valid variable name (it must be non-empty and contain no '=')")
            } else if variable.key.hasPrefix(Self.reservedEnvironmentPrefix) {
                report(map.field(variable.key), at: variable.keyPosition,
                       "is reserved: ringmaster sets the \(Self.reservedEnvironmentPrefix)* variables itself")
            } else if let value = text(map.slot(variable), expected: "a string") {
                result[variable.key] = value.value
            }
        }
        return result
    }

    /// `cwd`: an existing directory, relative paths against the manifest's directory.
    private func directory(_ slot: Slot) -> String? {
        guard let written = text(slot, expected: "a directory path", allowEmpty: false) else { return nil }
        let path = CommandResolver.absolute(written.value, against: resolver.workingDirectory)
        let looked = path == written.value ? "" : " (looked for \(path))"
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            report(slot.field, at: slot.position, "'\(written.value)' does not exist\(looked)")
            return nil
        }
        guard isDirectory.boolValue else {
            report(slot.field, at: slot.position, "'\(written.value)' is not a directory\(looked)")
            return nil
        }
        return path
    }

    /// `to`: each entry names a defined consumer, at most once.
    private func routes(_ slot: Slot, consumers: [String]) -> [String] {
        guard let slots = list(slot, expected: "a list of consumer names") else { return [] }
        var result: [String] = []
        var seen: [String: Int] = [:]
        for (index, item) in slots.enumerated() {
            guard let name = text(item, expected: "a consumer name") else { continue }
            if let first = seen[name.value] {
                report(item.field, at: item.position, "repeats consumer '\(name.value)' (already at to[\(first)])")
                continue
            }
            seen[name.value] = index
            if !consumers.contains(name.value) {
                let hint = Suggestion.closest(to: name.value, among: consumers).map { "did you mean '\($0)'?" }
                    ?? (consumers.isEmpty ? "no consumers are defined" : "defined: \(consumers.joined(separator: ", "))")
                report(item.field, at: item.position, "names an undefined consumer '\(name.value)' (\(hint))")
            }
            result.append(name.value)
        }
        return result
    }
}
