// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Ringmaster",
    products: [
        .executable(name: "ringmaster", targets: ["ringmaster"]),
        .executable(name: "ringmaster-walk", targets: ["ringmaster-walk"]),
        .executable(name: "ringmaster-pipe", targets: ["ringmaster-pipe"]),
        .library(name: "RingChannel", targets: ["RingChannel"]),
        .library(name: "RingmasterProducer", targets: ["RingmasterProducer"]),
        // What a Swift consumer plugin links (statically): the protocol, the C table builder,
        // the shared rendering. See docs/PLUGINS.md.
        .library(name: "RingmasterConsumerKit", targets: ["RingmasterConsumerKit", "RingmasterRendering"]),
        // The built-in consumers, each a plugin behind the C ABI. SwiftPM writes them beside the
        // binaries as lib<name>.so, where `plugin: <name>` finds them.
        .library(name: "stdout", type: .dynamic, targets: ["StdoutPlugin"]),
        .library(name: "jsonl", type: .dynamic, targets: ["JSONLinesPlugin"]),
        .library(name: "stats", type: .dynamic, targets: ["StatsPlugin"]),
        .library(name: "discard", type: .dynamic, targets: ["DiscardPlugin"]),
        // The Swift example consumer (examples/swift-consumer), built here too so the tests load it.
        .library(name: "linecount", type: .dynamic, targets: ["LineCountExample"]),
        // `exec`: records to any program's standard input (JSON Lines or binary frames), restarted by
        // a worker-style policy. See docs/PLUGINS.md, "The exec consumer".
        .library(name: "exec", type: .dynamic, targets: ["ExecPlugin"]),
        .library(name: "sqlite", type: .dynamic, targets: ["SQLitePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libuv through pkg-config; `make` installs libuv1-dev when it is missing.
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // The GNU-only calls (eventfd, memfd, seals, prctl, pidfd, wait macros, named semaphores)
        // and the shared-memory atomics. `_GNU_SOURCE` is defined in the .c file only.
        .target(name: "CShim"),
        // Errno, SystemError, FileDescriptor, the EINTR-retrying call wrapper, the monotonic clock.
        .target(name: "SystemKit"),
        // The shared layout v1: segment, ring writer and reader, notifiers. No processes, no loop.
        .target(name: "RingChannel", dependencies: ["CShim", "SystemKit"]),
        // What a Swift producer links: `Producer.attach()` and the environment contract.
        .target(name: "RingmasterProducer", dependencies: ["RingChannel", "CShim"]),
        // YAML → validated, typed configuration with file:line:column errors.
        .target(
            name: "Manifest",
            dependencies: ["RingChannel", .product(name: "Yams", package: "Yams")]
        ),
        // The only code that touches libuv handles: Loop, ChildProcess, Timer, SignalWatch, FDWatch, Async.
        .target(name: "LoopKit", dependencies: ["CLibUV", "CShim", "SystemKit"]),
        // The consumer plugin ABI: the one C header shared by the host and every plugin.
        .systemLibrary(name: "CRingmasterConsumer", path: "Plugins/include"),
        // Payload rendering by format (readable lines, JSON Lines, file-entry), linked into the
        // plugins that print records and into the host for its log lines.
        .target(name: "RingmasterRendering", dependencies: ["CShim", "SystemKit"], path: "Plugins/Rendering"),
        // A Swift plugin is a type conforming to `RingmasterConsumer` plus one export line.
        .target(name: "RingmasterConsumerKit", dependencies: ["CRingmasterConsumer", "RingmasterRendering"],
                path: "Plugins/ConsumerKit"),
        .target(name: "StdoutPlugin", dependencies: ["RingmasterConsumerKit", "RingmasterRendering"], path: "Plugins/stdout"),
        .target(name: "JSONLinesPlugin", dependencies: ["RingmasterConsumerKit", "RingmasterRendering"], path: "Plugins/jsonl"),
        .target(name: "StatsPlugin", dependencies: ["RingmasterConsumerKit"], path: "Plugins/stats"),
        .target(name: "DiscardPlugin", dependencies: ["RingmasterConsumerKit"], path: "Plugins/discard"),
        // The exec consumer's pure parts (settings, restart policy, framing, replay journal), unit-tested.
        .target(name: "ExecConsumerCore", dependencies: ["RingmasterConsumerKit", "RingmasterRendering"],
                path: "Plugins/exec/Core"),
        // The exec consumer: the child process (posix_spawn, pipe, reaping) and the consume loop.
        .target(name: "ExecPlugin", dependencies: ["ExecConsumerCore", "RingmasterConsumerKit", "SystemKit", "CShim"],
                path: "Plugins/exec/Plugin"),
        // The system SQLite through pkg-config; `make` installs libsqlite3-dev when it is missing.
        .systemLibrary(name: "CSQLite", path: "Plugins/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // `sqlite`: records into tables per format, WAL, batched transactions (docs/SQLITE.md).
        .target(name: "SQLitePlugin", dependencies: ["RingmasterConsumerKit", "RingmasterRendering", "CSQLite"], path: "Plugins/sqlite"),
        // The control socket's messages (JSON lines), shared by the supervisor and the CLI verbs.
        .target(name: "ControlProtocol"),
        // Pools, restarts, routing, shutdown; consumers through the plugin ABI (dlopen).
        .target(
            name: "Supervisor",
            dependencies: ["Manifest", "LoopKit", "RingChannel", "CShim", "CRingmasterConsumer", "RingmasterRendering", "ControlProtocol",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "ringmaster",
            dependencies: [
                "RingChannel",
                "Manifest",
                "Supervisor",
                "ControlProtocol",
                "CShim",
                .product(name: "Logging", package: "swift-log"),
                // The demo (until the supervisor lands) spawns the test producer with it.
                "RingmasterTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The reference producer: a sorted, resumable, shardable file-tree walker (file-entry records).
        .executableTarget(name: "ringmaster-walk", dependencies: ["RingmasterProducer", "RingChannel", "SystemKit", "CShim"]),
        // A ready producer: each line (NUL-delimited item, fixed-size chunk) of a command's output
        // or of its stdin becomes a record, with backpressure.
        .executableTarget(name: "ringmaster-pipe", dependencies: ["PipeSplitter", "RingmasterProducer", "RingChannel", "SystemKit", "CShim"]),
        // How ringmaster-pipe cuts a byte stream into records (lines, NUL items, chunks): pure, unit-tested.
        .target(name: "PipeSplitter"),
        // Test helper: numbered, checksummed records with crash, exit, sleep and resume switches.
        .executableTarget(name: "ringmaster-test-producer", dependencies: ["RingmasterProducer", "RingmasterTestSupport"]),
        // Shared by the tests, the test producer and the benchmark: record codec, process spawning.
        .target(name: "RingmasterTestSupport", dependencies: ["RingChannel", "CShim"]),
        // `make bench`: ring vs pipe vs Unix socket vs single-slot handoff vs memcpy.
        .executableTarget(name: "ringmaster-bench", dependencies: ["RingChannel", "RingmasterProducer", "RingmasterTestSupport", "CShim"]),
        .testTarget(
            name: "RingChannelTests",
            dependencies: ["RingChannel", "RingmasterProducer", "RingmasterTestSupport", "CShim", "CLibUV"]
        ),
        .target(
            name: "LineCountExample",
            dependencies: ["RingmasterConsumerKit", "RingmasterRendering"],
            path: "examples/swift-consumer/Sources/LineCount"
        ),
        // What the integration test targets share: scratch directories, running `ringmaster`.
        .target(name: "TestHarness", dependencies: ["RingmasterTestSupport"], path: "Tests/TestHarness"),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest"]),
        // The control protocol's pure parts: the Prometheus exposition and the metrics endpoint's HTTP.
        .testTarget(name: "ControlTests", dependencies: ["ControlProtocol", "TestHarness"]),
        .testTarget(name: "LoopKitTests", dependencies: ["LoopKit", "SystemKit"]),
        // ringmaster-walk through `ringmaster run`, compared with find(1); the file-entry decoder.
        .testTarget(name: "WalkTests", dependencies: ["Supervisor", "Manifest", "RingmasterTestSupport", "RingmasterRendering", "TestHarness"]),
        .testTarget(
            name: "SupervisorTests",
            dependencies: ["Supervisor", "Manifest", "RingChannel", "RingmasterTestSupport", "RingmasterRendering", "TestHarness",
                           "ControlProtocol", "CShim"]
        ),
        // The plugin ABI: loading rules, version and symbol checks, consume errors (C test plugins
        // built by the tests with cc), the C example.
        .testTarget(
            name: "PluginTests",
            dependencies: ["Supervisor", "Manifest", "RingmasterTestSupport", "RingmasterConsumerKit", "TestHarness"],
            exclude: ["CPlugins"]
        ),
        // The sqlite plugin through `ringmaster run`: walks against find(1), reopen modes, SIGKILL.
        .testTarget(name: "SQLiteTests", dependencies: ["RingmasterTestSupport", "CSQLite", "TestHarness"]),
        // Producers in other languages: the conformance vectors (conformance/) replayed by the Swift
        // writer and by the C and Python SDKs, their example producers under the supervisor,
        // ringmaster-pipe, and the cross-language run.
        .testTarget(name: "SDKTests", dependencies: ["RingChannel", "RingmasterProducer", "RingmasterTestSupport", "CShim", "TestHarness",
                                                    "PipeSplitter"]),
        // The exec consumer: its pure policy and framing, and Python consumers through `ringmaster run`.
        .testTarget(name: "ExecTests", dependencies: ["ExecConsumerCore", "RingmasterConsumerKit", "RingmasterTestSupport", "TestHarness"]),
    ]
)
