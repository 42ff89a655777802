import ExecConsumerCore
import Testing

/// The exec consumer's restart policy: the workers' table, backoff and budget, without processes
/// or clocks.
@Suite struct ChildRestartTests {
    private func planner(_ change: (inout ChildRestartSpec) -> Void = { _ in }) -> ChildRestartPlanner {
        var spec = ChildRestartSpec()
        spec.jitter = 0
        change(&spec)
        return ChildRestartPlanner(spec)
    }

    private let second: UInt64 = 1_000_000_000

    /// Whole milliseconds, rounded (delays are computed in floating point).
    private func milliseconds(_ duration: Duration) -> Int {
        let parts = duration.components
        return Int((Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15).rounded())
    }

    @Test(arguments: [
        (ChildRestartSpec.Policy.always, ChildExit.exited(0), "restart"),
        (.always, .exited(3), "restart"),
        (.onFailure, .exited(0), "finished"),
        (.onFailure, .signaled(9), "restart"),
        (.onFailure, .unknown, "restart"),
        (.never, .exited(0), "finished"),
        (.never, .exited(1), "failed"),
    ])
    func policyTableMatchesWorkers(policy: ChildRestartSpec.Policy, exit: ChildExit, expected: String) {
        var p = planner { $0.policy = policy }
        var random = SplitMix64(seed: 1)
        let decision = p.decide(exit: exit, startedAt: 0, now: second, using: &random)
        let kind = switch decision {
        case .restart: "restart"
        case .finished: "finished"
        case .failed: "failed"
        }
        #expect(kind == expected)
    }

    @Test func backoffGrowsByFactorAndIsCapped() {
        var p = planner { $0.initial = .milliseconds(100); $0.max = .milliseconds(500); $0.factor = 3 }
        var random = SplitMix64(seed: 1)
        var delays: [Duration] = []
        for step in 0..<4 {
            if case .restart(let delay, let attempt) = p.decide(exit: .exited(1), startedAt: UInt64(step), now: UInt64(step) + 1, using: &random) {
                delays.append(delay)
                #expect(attempt == step + 1)
            }
        }
        #expect(delays.map(milliseconds) == [100, 300, 500, 500])
    }

    @Test func budgetIsASlidingWindowOfFailures() {
        var p = planner { $0.restarts = 2; $0.within = .seconds(10) }
        var random = SplitMix64(seed: 1)
        #expect(p.decide(exit: .exited(1), startedAt: 0, now: 1 * second, using: &random) != .finished)
        #expect(p.decide(exit: .exited(1), startedAt: 0, now: 2 * second, using: &random) != .finished)
        let third = p.decide(exit: .exited(1), startedAt: 0, now: 3 * second, using: &random)
        #expect(third == .failed("exit 1; restart budget of 2 within 10.0s used up"))
        // Eleven seconds after the first restart it has left the window.
        if case .restart = p.decide(exit: .exited(1), startedAt: 0, now: 11 * second + 1, using: &random) {} else {
            Issue.record("expected a restart once the window moved on")
        }
    }

    @Test func zeroBudgetMakesTheFirstFailureFinal() {
        var p = planner { $0.restarts = 0 }
        var random = SplitMix64(seed: 1)
        #expect(p.decide(exit: .signaled(9), startedAt: 0, now: 1, using: &random)
                == .failed("SIGKILL; restart budget of 0 within 60.0s used up"))
    }

    @Test func cleanExitsUnderAlwaysDoNotSpendTheBudget() {
        var p = planner { $0.policy = .always; $0.restarts = 1 }
        var random = SplitMix64(seed: 1)
        for step in 1...5 {
            if case .restart = p.decide(exit: .exited(0), startedAt: 0, now: UInt64(step), using: &random) {} else {
                Issue.record("clean exit \(step) was not restarted")
            }
        }
        #expect(p.recentRestarts.isEmpty)
    }

    @Test func aStableRunResetsTheBackoff() {
        var p = planner { $0.initial = .milliseconds(100); $0.resetAfter = .seconds(30) }
        var random = SplitMix64(seed: 1)
        _ = p.decide(exit: .exited(1), startedAt: 0, now: 1, using: &random)
        _ = p.decide(exit: .exited(1), startedAt: 1, now: 2, using: &random)
        #expect(p.attempt == 2)
        let decision = p.decide(exit: .exited(1), startedAt: 2, now: 2 + 31 * second, using: &random)
        guard case .restart(let delay, let attempt) = decision else { Issue.record("expected a restart"); return }
        #expect(milliseconds(delay) == 100 && attempt == 1)
    }

    @Test(arguments: 0..<50)
    func jitterStaysInItsRangeAndUnderMax(seed: UInt64) {
        var spec = ChildRestartSpec()
        spec.initial = .seconds(1)
        spec.max = .seconds(1.1)
        spec.jitter = 0.5
        let p = ChildRestartPlanner(spec)
        var random = SplitMix64(seed: seed)
        let delay = p.delay(after: 0, using: &random)
        #expect(delay >= .milliseconds(500) && delay <= spec.max)
    }
}
