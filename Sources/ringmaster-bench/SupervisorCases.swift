import Glibc
import RingChannel
import RingmasterTestSupport

/// The supervisor's own figures, each against a peer measured in the same run: restart latency
/// against a bare `posix_spawn` of the same worker, records/s through `ringmaster run` against
/// the ring alone, and the supervisor's context switches while idle.
struct SupervisorCases {
    let options: BenchOptions
    let runner: CaseRunner
    let scratch: ScratchDirectory
    private let bench = executableDirectory() + "/ringmaster-bench"

    /// The backoff of the restart manifest: the smallest the supervisor honours (the manifest
    /// wants `initial` > 0, and restart timers count whole milliseconds, rounded up).
    static let backoffNanoseconds: UInt64 = 1_000_000
    static let restartsPerRound = 100
    static let idleSeconds = 2.0
    static let overheadSize = 64

    private var ringManifestLine: String {
        "channel: { kind: memfd, ring: \(options.ringCapacity >> 10)KiB, max_record: \(options.ringCapacity >> 13)KiB }"
    }

    // MARK: restart latency

    /// Bare baseline: `posix_spawn` of the restart worker on a fresh ring (with a lifeline pipe,
    /// as the supervisor gives it); latency = the child's ready stamp − the time just before the
    /// spawn call. Ring creation and the child's exit are outside the clock.
    func bareSpawnLatencies(count: Int) throws -> [UInt64] {
        let geometry = try RingGeometry(capacity: options.ringCapacity, maxRecord: UInt32(options.ringCapacity / 8))
        let lifeline = try makePipe()
        defer {
            close(lifeline.read)
            close(lifeline.write)
        }
        var samples: [UInt64] = []
        for _ in 0..<count {
            let channel = try Channel.create(kind: .memfd, label: "bench-spawn", geometry: geometry)
            let contract = channel.childContract()
            let lifelineTarget = CInt(3 + contract.inherited.count)
            var environment = contract.environment
            environment["RINGMASTER_LIFELINE"] = "fd:\(lifelineTarget)"
            let inherited = contract.inherited + [Channel.Inherited(source: FileDescriptor(rawValue: lifeline.read), target: lifelineTarget)]
            let start = MonotonicClock.now()
            let child = try SpawnedProcess.spawn(bench, ["--role", "restart-worker", "--last-generation", "0"],
                                                 environment: environment, inherited: inherited)
            let status = child.wait()
            guard status == .exited(0) else { throw BenchFailure("restart worker (bare spawn) ended with \(status)") }
            var reader = channel.makeReader()
            var stamps: [UInt64] = []
            _ = try reader.drain { record in
                if record.type == .data { stamps = Self.numbers(String(decoding: record.payload, as: UTF8.self)) }
            }
            guard stamps.count == 3, stamps[1] > start else { throw BenchFailure("restart worker (bare spawn) committed \(stamps)") }
            samples.append(stamps[1] - start)
        }
        return samples
    }

    /// `ringmaster run` with a worker that SIGKILLs itself `restarts` times, `on-failure` with a
    /// 1 ms backoff and no jitter; latency n = ready stamp of generation n+1 − crash stamp of
    /// generation n, both from the workers' records (the `stdout` consumer's output).
    func supervisedRestartLatencies(restarts: Int, round: Int) throws -> [UInt64] {
        let name = "restart-\(round)"
        let run = try RingmasterRun(scratch, name: name, manifest: """
            version: 1
            workers:
              restart:
                command: \(bench)
                args: ["--role", "restart-worker", "--last-generation", "\(restarts)"]
                \(ringManifestLine)
                format: text
                restart: { policy: on-failure, backoff: { initial: 1ms, max: 1ms, factor: 1, jitter: 0 }, budget: { restarts: \(restarts + 1), within: 1h } }
                to: [out]
            consumers:
              out: { plugin: stdout }
            """)
        try run.expect(try run.finish(limit: 120), .exited(0))
        var ready: [UInt64: UInt64] = [:]
        var crash: [UInt64: UInt64] = [:]
        for line in run.standardOutput.split(separator: "\n") where line.hasPrefix("[restart.0] ") {
            let fields = Self.numbers(String(line.dropFirst("[restart.0] ".count)))
            guard fields.count == 3 else { continue }
            ready[fields[0]] = fields[1]
            crash[fields[0]] = fields[2]
        }
        var samples: [UInt64] = []
        for generation in 0..<UInt64(restarts) {
            guard let crashed = crash[generation], let next = ready[generation + 1], next > crashed else {
                throw BenchFailure("\(name): no record of generation \(generation) or \(generation + 1) in the stdout consumer's output")
            }
            samples.append(next - crashed)
        }
        return samples
    }

    // MARK: overhead per record

    /// One supervised run of the table's batched producer (64 B records) into the built-in
    /// `discard` consumer, on a ring the size of the table's; records/s from the producer's clock
    /// (first record → the whole ring released). Verified: exit statuses, and the producer's
    /// checksum against the closed form for its count.
    /// With `controlLoad`, the same run while `ringmaster top` (in a tmux pane, default 1 s
    /// refresh) and a metrics scraper (an HTTP GET of /metrics every 100 ms) are attached; the
    /// producer's clock starts once both are.
    func supervisedThroughput(round: Int, childCPU: CInt?, controlLoad: Bool = false) throws -> Double {
        let name = (controlLoad ? "loaded-" : "overhead-") + "\(round)"
        let size = Self.overheadSize
        let report = scratch.file(name + ".report")
        let gate = scratch.file(name + ".go")
        var arguments = ["--role", "supervised-producer", "--size", "\(size)", "--seconds", "\(options.seconds)", "--report", report]
        if let childCPU { arguments += ["--cpu", "\(childCPU)"] }
        if controlLoad { arguments += ["--start-file", gate] }
        let run = try RingmasterRun(scratch, name: name, manifest: discardManifest(
            command: bench, arguments: arguments, channel: ringManifestLine,
            topLevel: controlLoad ? "metrics: { listen: 127.0.0.1:0 }" : ""))
        var load: ControlLoad? = nil
        if controlLoad {
            do {
                load = try ControlLoad(run: run, manifest: scratch.file(name + ".yaml"), scratch: scratch, name: name)
            } catch {
                run.process.kill(SIGKILL)
                run.process.wait()
                throw error
            }
            _ = creat(gate, 0o644)
        }
        let status = try run.finish(limit: options.seconds * 10 + 60)
        let scrapes = load?.stop() ?? 0
        try run.expect(status, .exited(0))
        if controlLoad, scrapes == 0 { throw BenchFailure("\(name): no metrics scrape completed during the run") }
        let fields = Self.numbers(scratch.read(name + ".report"))
        guard fields.count == 4, fields[0] > 0, fields[3] > fields[2] else {
            throw BenchFailure("\(name): the producer's report is malformed: \(fields)")
        }
        guard fields[1] == BenchRecord.expectedChecksum(count: fields[0], size: size) else {
            throw BenchFailure("\(name): checksum \(fields[1]) written, \(BenchRecord.expectedChecksum(count: fields[0], size: size)) expected")
        }
        return Double(fields[0]) / seconds(from: fields[2], to: fields[3])
    }

    // MARK: idle wake-ups

    /// `ringmaster run` with a worker that attaches, ends its stream and lingers; once it has
    /// started and the supervisor has gone quiet, the context switches of every supervisor
    /// thread over `idleSeconds`. Then SIGTERM, which must end the run with 0.
    func idleContextSwitches() throws -> (switches: UInt64, threads: Int) {
        let producer = executableDirectory() + "/ringmaster-test-producer"
        let run = try RingmasterRun(scratch, name: "idle", manifest: """
            version: 1
            workers:
              idle:
                command: \(producer)
                args: ["--records", "0", "--linger-ms", "600000"]
                to: [sink]
            consumers:
              sink: { plugin: discard }
            """)
        defer {
            if run.process.poll() == nil {
                run.process.kill(SIGKILL)
                run.process.wait()
            }
        }
        guard run.awaitLog("started idle.0", limit: 20) else {
            throw BenchFailure("idle: the worker did not start; stderr ends: \(run.standardError.suffix(600))")
        }
        // The worker attaches, ends its stream and sleeps; once the supervisor has drained that,
        // its threads go quiet (no switch for 200 ms; 10 s at most).
        var before = try contextSwitches(of: run.process.pid)
        for attempt in 0... {
            usleep(200_000)
            let now = try contextSwitches(of: run.process.pid)
            if now == before { break }
            before = now
            if attempt == 50 { throw BenchFailure("idle: the supervisor's threads never went quiet for 200 ms in 10 s") }
        }
        usleep(UInt32(Self.idleSeconds * 1e6))
        let after = try contextSwitches(of: run.process.pid)
        run.process.kill(SIGTERM)
        try run.expect(try run.finish(limit: 20), .exited(0))
        return (after.switches &- before.switches, after.threads)
    }

    /// The unsigned decimal numbers in `text`, in order.
    static func numbers(_ text: String) -> [UInt64] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
    }
}
