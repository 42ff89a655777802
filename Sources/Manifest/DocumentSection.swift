import Yams

extension ManifestDecoder {
    static let topLevelKeys = ["version", "defaults", "workers", "consumers", "metrics"]
    static let defaultsKeys = ["channel", "restart", "stop", "log", "stall_timeout"]

    /// Reads the whole document; nil when anything was reported.
    func manifest(_ root: Node?) -> Manifest? {
        let start = SourcePosition(file: file, line: 1, column: 1)
        guard let root, !Self.isNull(root) else {
            report("", at: start, "the manifest is empty (expected a map with version and workers)")
            return nil
        }
        guard case .mapping = root,
              let document = map(root, path: "", anchor: position(of: root), at: position(of: root),
                                 expected: "a map") else {
            report("", at: position(of: root),
                   "the manifest must be a map with version and workers (got \(Self.describe(root)))")
            return nil
        }
        rejectUnknownKeys(document, known: Self.topLevelKeys)

        if let version = document["version"] {
            if Self.scalarText(version.value) != "1" {
                report("version", at: version.valuePosition, "must be 1 (got \(Self.describe(version.value)))")
            }
        } else {
            reportMissing("version", in: document, expected: "version: 1")
        }

        var defaults = Defaults()
        if let entry = document["defaults"],
           let map = map(entry, in: document, expected: "a map with channel, restart, stop, log and stall_timeout") {
            rejectUnknownKeys(map, known: Self.defaultsKeys)
            if let channel = map["channel"] {
                defaults.channel = self.channel(channelLayer(channel, in: map), over: defaults.channel,
                                                path: map.field("channel"))
            }
            if let restart = map["restart"] {
                defaults.restart = self.restart(restartLayer(restart, in: map), over: defaults.restart,
                                                path: map.field("restart"))
            }
            if let stop = map["stop"] { defaults.stop = self.stop(stopLayer(stop, in: map), over: defaults.stop) }
            if let log = map["log"] { defaults.log = logLayer(log, in: map, inDefaults: true) }
            if let stall = map["stall_timeout"], let value = durationOrNone(map.slot(stall)) { defaults.stallTimeout = value }
        }

        // Consumers first: routes are checked against every consumer named, valid or not.
        var consumers: [ConsumerSpec] = []
        var consumerNames: [String] = []
        if let entry = document["consumers"],
           let map = map(entry, in: document, expected: "a map from consumer names to their settings") {
            consumerNames = map.entries.map(\.key)
            consumers = map.entries.compactMap { consumer($0, in: map) }
        }

        var workers: [WorkerSpec] = []
        if let entry = document["workers"] {
            if let map = map(entry, in: document, expected: "a map from worker names to their settings") {
                if map.entries.isEmpty {
                    report(map.path, at: entry.valuePosition, "must define at least one worker (got an empty map)")
                }
                workers = map.entries.compactMap {
                    worker($0, in: map, defaults: defaults, consumers: consumerNames)
                }
            }
        } else {
            reportMissing("workers", in: document, expected: "a map from worker names to their settings")
        }
        rejectSharedLogFiles(workers)
        let metrics = document["metrics"].flatMap { self.metrics($0, in: document) }
        guard errors.isEmpty else { return nil }
        return Manifest(file: file, version: 1, workers: workers, consumers: consumers, metrics: metrics)
    }
}
