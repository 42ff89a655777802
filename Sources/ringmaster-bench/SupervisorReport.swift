/// Runs the supervisor cases (rounds interleaving each case with its peer, like the table's) and
/// prints their section: figures, then target lines, met or not.
struct SupervisorReport {
    let cases: SupervisorCases
    let childCPU: CInt?
    private(set) var failures: [String] = []

    private var bareSpawn: [UInt64] = []
    private var restarts: [UInt64] = []
    private var ringAlone: [Double] = []
    private var supervised: [Double] = []
    private var supervisedLoaded: [Double] = []
    private var idle: (switches: UInt64, threads: Int)?

    init(cases: SupervisorCases, childCPU: CInt?) {
        self.cases = cases
        self.childCPU = childCPU
    }

    mutating func measure() {
        let cases = self.cases
        let childCPU = self.childCPU
        let perRound = SupervisorCases.restartsPerRound
        for round in 0..<cases.options.repeats {
            if let samples = attempt("restart latency, bare posix_spawn", { try cases.bareSpawnLatencies(count: perRound) }) {
                bareSpawn += samples
            }
            if let samples = attempt("restart latency, ringmaster run", { try cases.supervisedRestartLatencies(restarts: perRound, round: round) }) {
                restarts += samples
            }
            if let rate = attempt("overhead, ring alone", { try cases.runner.run(.ringBatched, size: SupervisorCases.overheadSize).recordsPerSecond }) {
                ringAlone.append(rate)
            }
            if let rate = attempt("overhead, ringmaster run", { try cases.supervisedThroughput(round: round, childCPU: childCPU) }) {
                supervised.append(rate)
            }
            if let rate = attempt("overhead, ringmaster run with top and metrics", {
                try cases.supervisedThroughput(round: round, childCPU: childCPU, controlLoad: true)
            }) {
                supervisedLoaded.append(rate)
            }
        }
        idle = attempt("idle wake-ups") { try cases.idleContextSwitches() }
    }

    private mutating func attempt<T>(_ what: String, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            failures.append("\(what): \(error)")
            return nil
        }
    }

    /// The section's lines, and how many of its targets were met out of how many measured.
    func lines() -> (lines: [String], met: Int, measured: Int) {
        var out: [String] = []
        var targets: [String] = []
        var met = 0
        var measured = 0
        func target(_ title: String, _ shown: String?, _ wanted: String, _ ok: Bool) {
            guard let shown else {
                targets.append("  " + pad(title, 60) + "not measured")
                return
            }
            measured += 1
            if ok { met += 1 }
            targets.append("  " + pad(title, 60) + pad(shown, 8, right: true) + "  (target " + wanted + ")  " + (ok ? "met" : "NOT MET"))
        }
        let placement = childCPU.map { "which inherits this program's CPU 0 (so do its workers; the overhead case's producer pins itself to CPU \($0))" } ?? "unpinned"
        out.append("supervisor: `ringmaster run` on generated manifests, \(placement)")
        out.append("")
        out.append("restart latency: a worker SIGKILLs itself → its replacement has attached to its ring; CLOCK_MONOTONIC stamps taken in the workers")
        out.append("(policy on-failure, backoff 1 ms without jitter: the least a restart waits; bare spawn: from just before posix_spawn)")
        let bare = Self.percentiles(bareSpawn)
        let raw = Self.percentiles(restarts)
        let less = Self.percentiles(restarts.map { $0 &- min($0, SupervisorCases.backoffNanoseconds) })
        out.append("  " + pad("bare posix_spawn of the same worker → attached", 50) + Self.describe(bare, count: bareSpawn.count))
        out.append("  " + pad("ringmaster restart, including its 1 ms backoff", 50) + Self.describe(raw, count: restarts.count))
        out.append("  " + pad("ringmaster restart, less the 1 ms backoff", 50) + Self.describe(less, count: restarts.count))
        out.append("")
        out.append("overhead per record: \(SupervisorCases.overheadSize) B records published per batch, ring \(cases.options.ringCapacity >> 10) KiB; best of \(cases.options.repeats) run(s) of \(Report.fixed(cases.options.seconds, 2)) s, interleaved")
        out.append("(ring alone: from go to the end of stream read; supervised: from the producer's first record until the supervisor has released the whole ring)")
        let alone = ringAlone.max()
        let through = supervised.max()
        out.append("  " + pad("ring alone (this program's reader, checking every record)", 60) + pad(alone.map { Report.millions($0) + " records/s" } ?? "not measured", 18, right: true))
        out.append("  " + pad("ringmaster run → built-in discard consumer", 60) + pad(through.map { Report.millions($0) + " records/s" } ?? "not measured", 18, right: true))
        let loaded = supervisedLoaded.max()
        out.append("  " + pad("the same, `top` attached and /metrics every 100 ms", 60) + pad(loaded.map { Report.millions($0) + " records/s" } ?? "not measured", 18, right: true))
        out.append("")
        if let idle {
            out.append("idle: context switches of all \(idle.threads) ringmaster threads in \(Report.fixed(SupervisorCases.idleSeconds, 1)) s, its worker attached and asleep: \(idle.switches)")
        } else {
            out.append("idle: not measured")
        }
        out.append("")

        if let bareP50 = bare?.p50, let rawP50 = raw?.p50 {
            target("restart p50 (1 ms backoff included) ÷ bare spawn p50", Report.ratio(rawP50 / bareP50), "≤ 3×", rawP50 <= 3 * bareP50)
        } else {
            target("restart p50 ÷ bare spawn p50", nil, "≤ 3×", false)
        }
        if let alone, let through {
            let share = through / alone
            target("ringmaster run ÷ ring alone, \(SupervisorCases.overheadSize) B records/s", Report.fixed(share * 100, 0) + "%", "≥ 70%", share >= 0.7)
        } else {
            target("ringmaster run ÷ ring alone", nil, "≥ 70%", false)
        }
        if let through, let loaded {
            let share = loaded / through
            target("with top and metrics ÷ without, \(SupervisorCases.overheadSize) B records/s", Report.fixed(share * 100, 0) + "%", "≥ 95%", share >= 0.95)
        } else {
            target("with top and metrics ÷ without", nil, "≥ 95%", false)
        }
        if let idle {
            target("context switches while idle, \(Report.fixed(SupervisorCases.idleSeconds, 1)) s", "\(idle.switches)", "0: no polling", idle.switches == 0)
        } else {
            target("context switches while idle", nil, "0", false)
        }
        out.append("supervisor targets (measured in this run):")
        out += targets
        return (out, met, measured)
    }

    /// Nearest-rank p50 and p99 in nanoseconds; nil without samples.
    static func percentiles(_ samples: [UInt64]) -> (p50: Double, p99: Double)? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        func rank(_ p: Double) -> Double {
            let index = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return Double(sorted[max(0, min(sorted.count - 1, index))])
        }
        return (rank(0.5), rank(0.99))
    }

    static func describe(_ figures: (p50: Double, p99: Double)?, count: Int) -> String {
        guard let figures else { return "not measured" }
        return "p50 " + pad(Report.fixed(figures.p50 / 1e6, 2), 6, right: true) + " ms   p99 "
            + pad(Report.fixed(figures.p99 / 1e6, 2), 6, right: true) + " ms   (\(count) samples)"
    }
}
