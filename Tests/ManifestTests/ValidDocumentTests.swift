import Manifest
import RingChannel
import Testing

@Suite("Valid manifests parse to the expected model")
struct ValidDocumentTests {
    let fixture = Fixture.shared

    /// The example from DESIGN.md's "The manifest, in outline", verbatim.
    static let designExample = """
        version: 1
        defaults:
          channel: { kind: memfd, ring: 4MiB, max_record: 256KiB }
          restart: { policy: on-failure, backoff: { initial: 50ms, max: 30s, factor: 2, jitter: 0.2 },
                     budget: { restarts: 10, within: 60s }, reset_after: 30s }
          stop: { signal: TERM, grace: 5s }
        workers:
          walker:
            command: ringmaster-walk        # a path, a name on PATH, or a program shipped beside ringmaster
            args: ["/usr", "--one-file-system"]
            env: { LANG: C }
            instances: 2                    # a pool; RINGMASTER_INSTANCE tells each its share
            format: file-entry              # file-entry | json | text | bytes
            to: [index, stats]
        consumers:
          index: { plugin: sqlite, path: walk.sqlite }
          stats: { plugin: stats }

        """

    func at(_ line: Int, _ column: Int) -> SourcePosition {
        SourcePosition(file: "m.yaml", line: line, column: column)
    }

    @Test func designExampleParsesToTheWholeModel() throws {
        let manifest = try parse(Self.designExample)
        let walker = WorkerSpec(
            name: "walker", command: "ringmaster-walk", executable: fixture.bin + "/ringmaster-walk",
            args: ["/usr", "--one-file-system"], env: ["LANG": "C"], cwd: nil, instances: 2,
            format: .fileEntry, channel: .default, restart: .default, stop: .default,
            to: ["index", "stats"], position: at(8, 3))
        let index = ConsumerSpec(name: "index", plugin: "sqlite", settings: ["path": .string("walk.sqlite")],
                                 settingPositions: ["plugin": at(16, 20), "path": at(16, 34)], position: at(16, 3))
        let stats = ConsumerSpec(name: "stats", plugin: "stats", settingPositions: ["plugin": at(17, 20)], position: at(17, 3))
        #expect(manifest == Manifest(file: "m.yaml", version: 1, workers: [walker], consumers: [index, stats]))
    }

    @Test func builtInDefaultsMatchTheDesign() throws {
        let manifest = try parse(worker())
        let w = try #require(manifest.worker(named: "w"))
        #expect(w.instances == 1 && w.format == .bytes && w.to.isEmpty && w.args.isEmpty && w.env.isEmpty && w.cwd == nil)
        #expect(w.channel == ChannelSpec(kind: .memfd, geometry: try RingGeometry(capacity: 4 << 20, maxRecord: 256 << 10)))
        #expect(w.restart == RestartSpec(
            policy: .onFailure, successExitCodes: [0],
            backoff: BackoffSpec(initial: .milliseconds(50), max: .seconds(30), factor: 2, jitter: 0.2,
                                 jitterMode: .proportional),
            budget: RestartBudget(restarts: 10, within: .seconds(60)), resetAfter: .seconds(30)))
        #expect(w.stop == StopSpec(signal: 15, signalName: "TERM", grace: .seconds(5)))
        #expect(manifest.consumers.isEmpty)
    }

    /// `defaults` replace built-ins field by field, and each worker's sections replace those
    /// field by field again: what a layer does not write is inherited, nested maps included.
    @Test func defaultsAndWorkerOverridesApplyFieldByField() throws {
        let manifest = try parse("""
            version: 1
            defaults:
              channel: { kind: posix, ring: 2MiB }
              restart:
                policy: always
                backoff: { initial: 100ms, factor: 1.5 }
              stop: { signal: SIGINT }
            workers:
              a:
                command: ringmaster-walk
              b:
                command: onpath
                channel: { max_record: 64KiB }
                restart:
                  policy: never
                  success_exit_codes: [0, 3]
                  backoff: { jitter: 0.5, jitter_mode: full }
                  budget: { restarts: 0 }
                  reset_after: 0
                stop: { grace: 250ms, signal: quit }
              c:
                command: ringmaster-walk
                restart: { policy: never }

            """)
        let a = try #require(manifest.worker(named: "a"))
        let b = try #require(manifest.worker(named: "b"))
        let c = try #require(manifest.worker(named: "c"))
        let sharedBackoff = BackoffSpec(initial: .milliseconds(100), max: .seconds(30), factor: 1.5, jitter: 0.2,
                                        jitterMode: .proportional)
        #expect(a.channel == ChannelSpec(kind: .posix, geometry: try RingGeometry(capacity: 2 << 20, maxRecord: 256 << 10)))
        #expect(a.restart == RestartSpec(policy: .always, successExitCodes: [0], backoff: sharedBackoff,
                                         budget: .default, resetAfter: .seconds(30)))
        #expect(a.stop == StopSpec(signal: 2, signalName: "INT", grace: .seconds(5)))

        #expect(b.executable == fixture.path1 + "/onpath")
        #expect(b.channel == ChannelSpec(kind: .posix, geometry: try RingGeometry(capacity: 2 << 20, maxRecord: 64 << 10)))
        #expect(b.restart == RestartSpec(
            policy: .never, successExitCodes: [0, 3],
            backoff: BackoffSpec(initial: .milliseconds(100), max: .seconds(30), factor: 1.5, jitter: 0.5, jitterMode: .full),
            budget: RestartBudget(restarts: 0, within: .seconds(60)), resetAfter: .zero))
        #expect(b.stop == StopSpec(signal: 3, signalName: "QUIT", grace: .milliseconds(250)))

        // Only the policy changes: the backoff is the defaults' one.
        #expect(c.restart == RestartSpec(policy: .never, successExitCodes: [0], backoff: sharedBackoff,
                                         budget: .default, resetAfter: .seconds(30)))
        #expect(manifest.workers.map(\.name) == ["a", "b", "c"])
    }

    @Test func scalarsInArgsAndEnvAreTakenAsWritten() throws {
        let manifest = try parse(worker("args: [1, true, 0x10, '--x', 2.50]",
                                        "env: { DEBUG: 1, FLAG: yes, EMPTY: '', PATHS: /a:/b }"))
        let w = try #require(manifest.workers.first)
        #expect(w.args == ["1", "true", "0x10", "--x", "2.50"])
        #expect(w.env == ["DEBUG": "1", "FLAG": "yes", "EMPTY": "", "PATHS": "/a:/b"])
    }

    @Test func relativePathsResolveAgainstTheManifestDirectory() throws {
        let manifest = try parse("""
            version: 1
            workers:
              local:
                command: ./tools/run.sh
                cwd: data
              absolute:
                command: \(fixture.path2)/deep
                cwd: \(fixture.root)/bin/../m/./data

            """)
        let local = try #require(manifest.worker(named: "local"))
        let absolute = try #require(manifest.worker(named: "absolute"))
        #expect(local.command == "./tools/run.sh")
        #expect(local.executable == fixture.manifestDirectory + "/tools/run.sh")
        #expect(local.cwd == fixture.manifestDirectory + "/data")
        #expect(absolute.executable == fixture.path2 + "/deep")
        #expect(absolute.cwd == fixture.manifestDirectory + "/data")
    }

    @Test func consumerSettingsKeepTheirYAMLTypesAndPositions() throws {
        let manifest = try parse(worker("to: [sink]") + """
            consumers:
              sink:
                plugin: custom
                count: 12
                ratio: 0.25
                enabled: yes
                label: "12"
                nothing: ~
                tags: [a, 2]
                nested: { depth: 3, on: off }

            """)
        let sink = try #require(manifest.consumer(named: "sink"))
        #expect(sink.plugin == "custom")
        #expect(sink.settings == [
            "count": .integer(12), "ratio": .double(0.25), "enabled": .bool(true), "label": .string("12"),
            "nothing": .null, "tags": .list([.string("a"), .integer(2)]),
            "nested": .map(["depth": .integer(3), "on": .bool(false)]),
        ])
        #expect(sink.settingPositions["count"] == at(9, 12))
        #expect(sink.settingPositions["nested"] == at(15, 13))
        #expect(sink.settings["plugin"] == nil, "plugin is not a setting")
        #expect(sink.settingPositions["plugin"] == at(8, 13), "but its position is kept for plugin errors")
        #expect(sink.error(setting: "count", "must be below 10").description == "m.yaml:9:12: consumers.sink.count must be below 10")
        #expect(sink.error(setting: "absent", "is required").description == "m.yaml:7:3: consumers.sink.absent is required")
    }

    @Test func consumersWithoutRoutesAndWorkersWithoutRoutesAreAllowed() throws {
        let manifest = try parse(worker() + "consumers:\n  idle: { plugin: stats }\n")
        #expect(manifest.workers.first?.to == [])
        #expect(manifest.consumers.map(\.name) == ["idle"])
    }
}
