import Manifest

/// What a reload changes among the workers: pure, so every case is tested without processes.
public struct ManifestDiff: Equatable, Sendable {
    /// In the new manifest only: start them.
    public var added: [String] = []
    /// In the old manifest only: stop them.
    public var removed: [String] = []
    /// Defined differently (command, args, env, cwd, format, channel, restart, stop, routes):
    /// restart them on the new definition.
    public var changed: [String] = []
    /// Only the pool size differs: scale them, nothing restarts.
    public var scaled: [String] = []
    /// Identical (positions in the file do not count): leave them alone.
    public var unchanged: [String] = []

    /// Compares two manifests' workers by name; the lists keep the new manifest's order (removed:
    /// the old one's).
    public init(from old: [WorkerSpec], to new: [WorkerSpec]) {
        let before = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let afterNames = Set(new.map(\.name))
        for worker in new {
            guard let previous = before[worker.name] else {
                added.append(worker.name)
                continue
            }
            var comparable = worker
            comparable.position = previous.position
            comparable.instances = previous.instances
            if comparable != previous {
                changed.append(worker.name)
            } else if worker.instances != previous.instances {
                scaled.append(worker.name)
            } else {
                unchanged.append(worker.name)
            }
        }
        removed = old.map(\.name).filter { !afterNames.contains($0) }
    }

    /// Consumers cannot change on a reload (yet): the names of those that differ, added or removed.
    public static func consumerChanges(from old: [ConsumerSpec], to new: [ConsumerSpec]) -> [String] {
        func strip(_ spec: ConsumerSpec) -> ConsumerSpec {
            var copy = spec
            copy.position = SourcePosition(file: "", line: 1, column: 1)
            copy.settingPositions = [:]
            return copy
        }
        let before = Dictionary(old.map { ($0.name, strip($0)) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { ($0.name, strip($0)) }, uniquingKeysWith: { first, _ in first })
        return Set(before.keys).union(after.keys).sorted().filter { before[$0] != after[$0] }
    }
}
