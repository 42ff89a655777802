import Manifest
import Testing

/// One invalid manifest and every error it must produce, exactly, in order.
struct Invalid: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let expected: [String]
    init(_ name: String, _ yaml: String, _ expected: String...) {
        self.name = name
        self.yaml = yaml
        self.expected = expected
    }
    var testDescription: String { name }
}

/// Documents, keys and structure: the top level, names, unknown keys, workers' plain fields.
let structuralCases: [Invalid] = [
    Invalid("version missing", "workers:\n  w:\n    command: ringmaster-walk\n",
            "m.yaml:1:1: version is missing (expected version: 1)"),
    Invalid("version 2", "version: 2\nworkers:\n  w:\n    command: ringmaster-walk\n",
            "m.yaml:1:10: version must be 1 (got 2)"),
    Invalid("workers missing", "version: 1\n",
            "m.yaml:1:1: workers is missing (expected a map from worker names to their settings)"),
    Invalid("workers empty", "version: 1\nworkers: {}\n",
            "m.yaml:2:10: workers must define at least one worker (got an empty map)"),
    Invalid("workers is a list", "version: 1\nworkers:\n  - command: ringmaster-walk\n",
            "m.yaml:3:3: workers must be a map from worker names to their settings (got a list)"),
    Invalid("empty document", "",
            "m.yaml:1:1: the manifest is empty (expected a map with version and workers)"),
    Invalid("root is a list", "- version: 1\n",
            "m.yaml:1:1: the manifest must be a map with version and workers (got a list)"),
    Invalid("unknown top-level key, near miss", worker() + "consumer: {}\n",
            "m.yaml:5:1: consumer is not a known key (did you mean 'consumers'?)"),
    Invalid("misspelled command is unknown and command is missing",
            "version: 1\nworkers:\n  w:\n    comand: ringmaster-walk\n",
            "m.yaml:3:3: workers.w.command is missing (expected the program to run: a path, a name on PATH, or a program beside ringmaster)",
            "m.yaml:4:5: workers.w.comand is not a known key (did you mean 'command'?)"),
    Invalid("unknown worker key, nothing near", worker("colour: red"),
            "m.yaml:5:5: workers.w.colour is not a known key (expected one of command, args, env, cwd, instances, format, channel, restart, stop, to, log, stall_timeout)"),
    Invalid("merge key",
            "version: 1\nworkers:\n  a: &a\n    command: ringmaster-walk\n  b:\n    <<: *a\n    instances: 2\n",
            "m.yaml:5:3: workers.b.command is missing (expected the program to run: a path, a name on PATH, or a program beside ringmaster)",
            "m.yaml:6:5: workers.b.<< is a YAML merge key, which manifests do not support (put shared settings in defaults)"),
    Invalid("worker with no settings", "version: 1\nworkers:\n  w:\n",
            "m.yaml:3:3: workers.w must be a map with at least command (got null)"),
    Invalid("worker name with a space", "version: 1\nworkers:\n  my worker:\n    command: ringmaster-walk\n",
            "m.yaml:3:3: workers.my worker is not a valid worker name (use letters, digits, '_' and '-')"),
    Invalid("instances zero", worker("instances: 0"),
            "m.yaml:5:16: workers.w.instances must be an integer from 1 to 1024 (got 0)"),
    Invalid("instances too many", worker("instances: 2000"),
            "m.yaml:5:16: workers.w.instances must be an integer from 1 to 1024 (got 2000)"),
    Invalid("instances not a number", worker("instances: two"),
            "m.yaml:5:16: workers.w.instances must be an integer from 1 to 1024 (got 'two')"),
    Invalid("format unknown", worker("format: csv"),
            "m.yaml:5:13: workers.w.format must be one of json, text, bytes, file-entry (got 'csv')"),
    Invalid("format misspelled", worker("format: jsn"),
            "m.yaml:5:13: workers.w.format must be one of json, text, bytes, file-entry (got 'jsn'; did you mean 'json'?)"),
    Invalid("command empty", "version: 1\nworkers:\n  w:\n    command: \"\"\n",
            "m.yaml:4:14: workers.w.command must be a program name or path (got '')"),
    Invalid("args not a list", worker("args: --verbose"),
            "m.yaml:5:11: workers.w.args must be a list of strings (got '--verbose')"),
    Invalid("args entry is a map", worker("args: [a, {b: c}]"),
            "m.yaml:5:15: workers.w.args[1] must be a string (got a map)"),
    Invalid("env name reserved", worker("env: { RINGMASTER_SEGMENT: x }"),
            "m.yaml:5:12: workers.w.env.RINGMASTER_SEGMENT is reserved: ringmaster sets the RINGMASTER_* variables itself"),
    Invalid("env value is a list", worker("env: { A: [1] }"),
            "m.yaml:5:15: workers.w.env.A must be a string (got a list)"),
    Invalid("env not a map", worker("env: [A=1]"),
            "m.yaml:5:10: workers.w.env must be a map from variable names to values (got a list)"),
    Invalid("consumer missing plugin",
            worker("to: [stats]") + "consumers:\n  stats: { path: x }\n",
            "m.yaml:7:3: consumers.stats.plugin is missing (expected the name of the plugin to load)"),
    Invalid("consumer not a map", worker() + "consumers:\n  stats: sqlite\n",
            "m.yaml:6:10: consumers.stats must be a map with plugin and its settings (got 'sqlite')"),
    Invalid("consumer name with a dot", worker() + "consumers:\n  my.index: { plugin: sqlite }\n",
            "m.yaml:6:3: consumers.my.index is not a valid consumer name (use letters, digits, '_' and '-')"),
    Invalid("plugin empty", worker() + "consumers:\n  stats: { plugin: '' }\n",
            "m.yaml:6:20: consumers.stats.plugin must be a plugin name (got '')"),
    Invalid("defaults key misspelled", "version: 1\ndefaults: { restrat: {} }\n" + worker().dropFirst(11),
            "m.yaml:2:13: defaults.restrat is not a known key (did you mean 'restart'?)"),
]

/// Routes, commands and working directories: the checks that look beyond one value.
let referenceCases: [Invalid] = [
    Invalid("route to an undefined consumer, near miss",
            "version: 1\nworkers:\n  walker:\n    command: ringmaster-walk\n    to: [index, idx]\nconsumers:\n  index: { plugin: sqlite }\n",
            "m.yaml:5:17: workers.walker.to[1] names an undefined consumer 'idx' (did you mean 'index'?)"),
    Invalid("route with no consumers defined", worker("to: [stats]"),
            "m.yaml:5:10: workers.w.to[0] names an undefined consumer 'stats' (no consumers are defined)"),
    Invalid("route to an undefined consumer, nothing near",
            worker("to: [archive]") + "consumers:\n  index: { plugin: sqlite }\n  stats: { plugin: stats }\n",
            "m.yaml:5:10: workers.w.to[0] names an undefined consumer 'archive' (defined: index, stats)"),
    Invalid("route repeated", worker("to: [stats, stats]") + "consumers:\n  stats: { plugin: stats }\n",
            "m.yaml:5:17: workers.w.to[1] repeats consumer 'stats' (already at to[0])"),
    Invalid("route not a list", worker("to: stats") + "consumers:\n  stats: { plugin: stats }\n",
            "m.yaml:5:9: workers.w.to must be a list of consumer names (got 'stats')"),
    Invalid("command not found, near a shipped program",
            "version: 1\nworkers:\n  w:\n    command: ringmaster-walkk\n",
            "m.yaml:4:14: workers.w.command 'ringmaster-walkk' not found beside ringmaster (\(Fixture.shared.bin)) or on PATH (\(Fixture.shared.searchPath)); did you mean 'ringmaster-walk'?"),
    Invalid("command path does not exist", "version: 1\nworkers:\n  w:\n    command: ./tools/missing.sh\n",
            "m.yaml:4:14: workers.w.command './tools/missing.sh' does not exist (looked for \(Fixture.shared.manifestDirectory)/tools/missing.sh)"),
    Invalid("command path not executable", "version: 1\nworkers:\n  w:\n    command: tools/plain.txt\n",
            "m.yaml:4:14: workers.w.command 'tools/plain.txt' is not executable (looked for \(Fixture.shared.manifestDirectory)/tools/plain.txt)"),
    Invalid("command path is a directory", "version: 1\nworkers:\n  w:\n    command: \(Fixture.shared.bin)/\n",
            "m.yaml:4:14: workers.w.command '\(Fixture.shared.bin)/' is a directory (looked for \(Fixture.shared.bin))"),
    Invalid("cwd does not exist", worker("cwd: nowhere"),
            "m.yaml:5:10: workers.w.cwd 'nowhere' does not exist (looked for \(Fixture.shared.manifestDirectory)/nowhere)"),
    Invalid("cwd is a file", worker("cwd: \(Fixture.shared.manifestDirectory)/file.txt"),
            "m.yaml:5:10: workers.w.cwd '\(Fixture.shared.manifestDirectory)/file.txt' is not a directory"),
]

@Suite("Invalid manifests: exact messages and positions")
struct InvalidDocumentTests {
    @Test(arguments: structuralCases)
    func structure(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test(arguments: referenceCases)
    func references(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test(arguments: policyCases)
    func policies(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test(arguments: syntaxCases)
    func syntax(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }
}
