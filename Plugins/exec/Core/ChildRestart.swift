/// The `exec` consumer's restart policy for its child: the same keys and the same meaning as a
/// worker's `restart` (docs/SUPERVISOR.md, "Restarts"). The plugin cannot link the Supervisor
/// module, so this is a small, pure equivalent of its `RestartPlanner` and `Backoff`: plain
/// values, an injected clock (nanoseconds) and an injected random generator.
public struct ChildRestartSpec: Equatable, Sendable {
    /// When to restart, as a worker's `restart.policy`.
    public enum Policy: String, Sendable, CaseIterable {
        case always
        case onFailure = "on-failure"
        case never
    }

    /// How jitter is applied, as a worker's `restart.backoff.jitter_mode`.
    public enum JitterMode: String, Sendable, CaseIterable {
        case proportional
        case full
    }

    public var policy: Policy = .onFailure
    public var successExitCodes: Set<Int32> = [0]
    public var initial: Duration = .milliseconds(50)
    public var max: Duration = .seconds(30)
    public var factor: Double = 2
    public var jitter: Double = 0.2
    public var jitterMode: JitterMode = .proportional
    public var restarts: Int = 10
    public var within: Duration = .seconds(60)
    public var resetAfter: Duration = .seconds(30)

    /// The workers' defaults: on-failure, success [0], 50ms × 2 up to 30s with 20 % jitter,
    /// 10 restarts within 60s, reset after 30s.
    public init() {}
}

/// How the child ended, as the policy sees it.
public enum ChildExit: Hashable, Sendable, CustomStringConvertible {
    /// It exited with a status code (127: it could not be started).
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)
    /// Its status was lost (someone else reaped it); counts as a failure.
    case unknown

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): ChildExit.signalNames[signal] ?? "signal \(signal)"
        case .unknown: "an unknown status"
        }
    }

    private static let signalNames: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
        10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    ]
}

/// What follows a child's exit.
public enum ChildRestartDecision: Hashable, Sendable {
    /// Start it again after `delay`; `attempt` counts restarts since the last stable run.
    case restart(after: Duration, attempt: Int)
    /// A successful exit that the policy does not restart (on-failure, never).
    case finished
    /// Not restarted: a failure under `never`, or the budget is used up. The text says why.
    case failed(String)
}

/// The restart policy as a pure value (the Supervisor's `RestartPlanner`, for one child).
public struct ChildRestartPlanner: Sendable {
    public let spec: ChildRestartSpec
    /// Times of restarts after failures inside the budget window.
    public private(set) var recentRestarts: [UInt64] = []
    /// Consecutive restarts since the last stable run (the backoff exponent).
    public private(set) var attempt = 0

    public init(_ spec: ChildRestartSpec) { self.spec = spec }

    /// Whether `exit` counts as success (an exit code in `success_exit_codes`).
    public func isSuccess(_ exit: ChildExit) -> Bool {
        if case .exited(let code) = exit { return spec.successExitCodes.contains(code) }
        return false
    }

    /// Decides what follows `exit` at `now` for a child started at `startedAt` (nanoseconds of
    /// one monotonic clock). Same table as workers: `always` restarts a success without spending
    /// the budget; `on-failure` finishes on success; `never` finishes or fails.
    public mutating func decide<G: RandomNumberGenerator>(
        exit: ChildExit, startedAt: UInt64, now: UInt64, using generator: inout G
    ) -> ChildRestartDecision {
        let success = isSuccess(exit)
        switch spec.policy {
        case .never: return success ? .finished : .failed("\(exit) and restart policy is never")
        case .onFailure: if success { return .finished }
        case .always: break
        }
        if now &- startedAt >= Self.nanoseconds(spec.resetAfter) { attempt = 0 }
        if !success {
            let window = Self.nanoseconds(spec.within)
            recentRestarts.removeAll { now &- $0 >= window }
            if recentRestarts.count >= spec.restarts {
                return .failed("\(exit); restart budget of \(spec.restarts) within \(Self.seconds(spec.within))s used up")
            }
            recentRestarts.append(now)
        }
        let delay = self.delay(after: attempt, using: &generator)
        attempt += 1
        return .restart(after: delay, attempt: attempt)
    }

    /// The delay before restart number `attempt + 1`: `min(initial × factor^attempt, max)`, then
    /// jitter (never above `max`).
    public func delay<G: RandomNumberGenerator>(after attempt: Int, using generator: inout G) -> Duration {
        let base = baseDelay(after: attempt)
        let jitter = Swift.min(Swift.max(spec.jitter, 0), 1)
        let cap = Self.seconds(spec.max)
        guard jitter > 0, base > 0 else { return base >= cap ? spec.max : .seconds(base) }
        let u = Double.random(in: 0...1, using: &generator)
        let jittered = switch spec.jitterMode {
        case .proportional: base * (1 - jitter + 2 * jitter * u)
        case .full: base * (1 - jitter * u)
        }
        return jittered >= cap ? spec.max : .seconds(jittered)
    }

    /// `initial × factor^attempt` in seconds, capped at `max`, before jitter.
    public func baseDelay(after attempt: Int) -> Double {
        let cap = Self.seconds(spec.max)
        var value = Self.seconds(spec.initial)
        for _ in 0..<Swift.max(0, attempt) {
            value *= spec.factor
            if value >= cap { return cap }
        }
        return Swift.min(value, cap)
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let parts = duration.components
        guard parts.seconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(parts.seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ UInt64(parts.attoseconds / 1_000_000_000)
    }
}

/// SplitMix64, so the jitter of a test is reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
