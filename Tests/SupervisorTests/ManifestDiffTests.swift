import Manifest
import Supervisor
import Testing

/// The reload diff, without processes: which workers start, stop, restart, scale or stay.
@Suite struct ManifestDiffTests {
    static func worker(_ name: String, args: [String] = [], instances: Int = 1, line: Int = 1) -> WorkerSpec {
        WorkerSpec(name: name, command: "p", executable: "/bin/p", args: args, instances: instances,
                   position: SourcePosition(file: "m.yaml", line: line, column: 3))
    }

    @Test func eachKindOfChangeIsSortedOut() {
        let old = [Self.worker("same"), Self.worker("edited"), Self.worker("gone"), Self.worker("pool", instances: 2)]
        let new = [Self.worker("added", line: 2), Self.worker("same", line: 9), Self.worker("edited", args: ["-v"]),
                   Self.worker("pool", instances: 5, line: 4)]
        let diff = ManifestDiff(from: old, to: new)
        #expect(diff.added == ["added"])
        #expect(diff.removed == ["gone"])
        #expect(diff.changed == ["edited"])
        #expect(diff.scaled == ["pool"])
        #expect(diff.unchanged == ["same"], "a worker that only moved in the file is unchanged")
    }

    @Test func sizeAndDefinitionChangedTogetherIsARestart() {
        let diff = ManifestDiff(from: [Self.worker("w")], to: [Self.worker("w", args: ["x"], instances: 3)])
        #expect(diff.changed == ["w"] && diff.scaled.isEmpty)
    }

    @Test func consumersThatDifferAreNamed() {
        func consumer(_ name: String, _ plugin: String, line: Int) -> ConsumerSpec {
            ConsumerSpec(name: name, plugin: plugin, settings: [:], position: SourcePosition(file: "m.yaml", line: line, column: 3))
        }
        let old = [consumer("a", "jsonl", line: 1), consumer("b", "stats", line: 2)]
        #expect(ManifestDiff.consumerChanges(from: old, to: [consumer("b", "stats", line: 7), consumer("a", "jsonl", line: 8)]).isEmpty)
        #expect(ManifestDiff.consumerChanges(from: old, to: [consumer("a", "discard", line: 1), consumer("c", "stats", line: 2)])
            == ["a", "b", "c"])
    }
}
