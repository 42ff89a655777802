import Manifest

/// How an instance's process ended, as the policy sees it.
public enum ExitReason: Hashable, Sendable, CustomStringConvertible {
    /// It exited with a status code.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)
    /// The supervisor killed it for breaking the ring's rules.
    case quarantined(String)
    /// The supervisor stopped it for committing nothing for its `stall_timeout` (a failure).
    case stalled(after: Duration)

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): signalName(signal)
        case .quarantined(let why): "quarantined: \(why)"
        case .stalled(let timeout): "stalled after \(Units.describe(timeout))"
        }
    }
}

/// What to do after an exit.
public enum RestartDecision: Hashable, Sendable {
    /// Start it again after `delay`.
    case restart(after: Duration, attempt: Int)
    /// It is done (success under on-failure, or policy never): leave it stopped.
    case finished
    /// It has used up its restart budget (or failed under `never`): the run's exit status says so.
    case failed(String)
}

/// Restart policy as a pure value: policy kind, success codes, backoff, budget, reset after a
/// stable run. Times are nanoseconds of an injected monotonic clock.
public struct RestartPlanner: Sendable {
    /// The manifest's restart settings.
    public let spec: RestartSpec
    private let backoff: Backoff
    /// Restart times inside the budget window.
    private(set) public var recentRestarts: [UInt64] = []
    /// Consecutive restarts since the last stable run (drives the backoff exponent).
    private(set) public var attempt = 0

    public init(_ spec: RestartSpec) {
        self.spec = spec
        backoff = Backoff(spec.backoff)
    }

    /// Whether an exit counts as success under the configured success codes.
    public func isSuccess(_ reason: ExitReason) -> Bool {
        if case .exited(let code) = reason { return spec.successExitCodes.contains(code) }
        return false
    }

    /// Decides what follows an exit at `now` of a run that started at `startedAt`.
    public mutating func decide<G: RandomNumberGenerator>(
        exit reason: ExitReason, startedAt: UInt64, now: UInt64, using generator: inout G
    ) -> RestartDecision {
        let success = isSuccess(reason)
        switch spec.policy {
        case .never:
            return success ? .finished : .failed("\(reason) and restart policy is never")
        case .onFailure:
            if success { return .finished }
        case .always:
            break
        }
        // A run that lasted reset_after counts as stable: the backoff starts over.
        if now &- startedAt >= UInt64(nanoseconds(spec.resetAfter)) { attempt = 0 }
        if success {
            // `always` after a clean exit: restart, but a clean exit is no crash loop, so it does
            // not spend the restart budget.
            let delay = backoff.delay(after: attempt, using: &generator)
            attempt += 1
            return .restart(after: delay, attempt: attempt)
        }
        let window = UInt64(nanoseconds(spec.budget.within))
        recentRestarts.removeAll { now &- $0 >= window }
        if recentRestarts.count >= spec.budget.restarts {
            return .failed("\(reason); restart budget of \(spec.budget.restarts) within \(spec.budget.within.seconds)s used up")
        }
        recentRestarts.append(now)
        let delay = backoff.delay(after: attempt, using: &generator)
        attempt += 1
        return .restart(after: delay, attempt: attempt)
    }
}

/// Whole nanoseconds of a duration (saturating).
func nanoseconds(_ duration: Duration) -> Int64 {
    let parts = duration.components
    let (product, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return parts.seconds < 0 ? .min : .max }
    return product &+ parts.attoseconds / 1_000_000_000
}

/// A readable signal name: `SIGKILL` for 9.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
                                  8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
                                  13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"]
    return names[signal] ?? "signal \(signal)"
}

/// Formats a delay for the log: `50ms`, `1.5s`.
func describeDelay(_ duration: Duration) -> String {
    let seconds = duration.seconds
    if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
    return "\((seconds * 100).rounded() / 100)s"
}
