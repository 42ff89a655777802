import Manifest
import Supervisor
import Testing

/// Restart policy and backoff as pure values: no processes, an injected clock, seeded jitter.
@Suite struct PolicyTests {
    static func spec(policy: RestartPolicyKind = .onFailure, initial: Duration = .milliseconds(50),
                     max: Duration = .seconds(30), factor: Double = 2, jitter: Double = 0,
                     jitterMode: JitterMode = .proportional, restarts: Int = 10,
                     within: Duration = .seconds(60), resetAfter: Duration = .seconds(30),
                     success: Set<Int32> = [0]) -> RestartSpec {
        RestartSpec(policy: policy, successExitCodes: success,
                    backoff: BackoffSpec(initial: initial, max: max, factor: factor, jitter: jitter, jitterMode: jitterMode),
                    budget: RestartBudget(restarts: restarts, within: within), resetAfter: resetAfter)
    }

    static let second: UInt64 = 1_000_000_000

    @Test func backoffDoublesUpToTheCap() {
        let backoff = Backoff(Self.spec(initial: .milliseconds(50), max: .milliseconds(500)).backoff)
        let delays = (0..<6).map { backoff.baseDelay(after: $0) }
        #expect(delays == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }

    @Test func seededProportionalJitterIsReproducibleAndBounded() {
        let backoff = Backoff(Self.spec(initial: .seconds(1), max: .seconds(100), jitter: 0.2).backoff)
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        let first = (0..<5).map { backoff.delay(after: $0, using: &a) }
        let second = (0..<5).map { backoff.delay(after: $0, using: &b) }
        #expect(first == second)
        for (attempt, delay) in first.enumerated() {
            let base = Double(1 << attempt)
            #expect(delay.seconds >= base * 0.8 - 1e-9 && delay.seconds <= base * 1.2 + 1e-9)
        }
        #expect(Set(first.map(\.seconds)).count == 5)
    }

    @Test func fullJitterStaysBetweenZeroAndTheDelay() {
        let backoff = Backoff(Self.spec(initial: .seconds(2), jitter: 1, jitterMode: .full).backoff)
        var generator = SeededGenerator(seed: 7)
        let delays = (0..<200).map { _ in backoff.delay(after: 0, using: &generator).seconds }
        #expect(delays.allSatisfy { $0 >= 0 && $0 <= 2 })
        #expect(delays.min()! < 0.5 && delays.max()! > 1.5)
    }

    @Test(arguments: [
        (RestartPolicyKind.always, Int32(0), "restart"),
        (.always, 1, "restart"),
        (.onFailure, 0, "finished"),
        (.onFailure, 1, "restart"),
        (.never, 0, "finished"),
        (.never, 1, "failed"),
    ])
    func policyKinds(policy: RestartPolicyKind, code: Int32, expected: String) {
        var planner = RestartPlanner(Self.spec(policy: policy))
        var generator = SeededGenerator(seed: 1)
        let decision = planner.decide(exit: .exited(code), startedAt: 0, now: Self.second, using: &generator)
        switch decision {
        case .restart: #expect(expected == "restart")
        case .finished: #expect(expected == "finished")
        case .failed: #expect(expected == "failed")
        }
    }

    @Test func signalsAndQuarantinesAreFailuresAndSuccessCodesAreConfigurable() {
        var planner = RestartPlanner(Self.spec(success: [0, 3]))
        var generator = SeededGenerator(seed: 1)
        #expect(planner.decide(exit: .exited(3), startedAt: 0, now: 1, using: &generator) == .finished)
        if case .restart = planner.decide(exit: .signaled(9), startedAt: 0, now: 2, using: &generator) {} else {
            Issue.record("a signal under on-failure must restart")
        }
        if case .restart = planner.decide(exit: .quarantined("x"), startedAt: 0, now: 3, using: &generator) {} else {
            Issue.record("a quarantine under on-failure must restart")
        }
    }

    @Test func budgetCountsRestartsInsideTheWindowOnly() {
        var planner = RestartPlanner(Self.spec(policy: .always, restarts: 3, within: .seconds(10)))
        var generator = SeededGenerator(seed: 1)
        let s = Self.second
        for t in [1, 2, 3] as [UInt64] {
            if case .restart = planner.decide(exit: .exited(1), startedAt: t * s - 1, now: t * s, using: &generator) {} else {
                Issue.record("restart \(t) should be allowed")
            }
        }
        if case .failed(let why) = planner.decide(exit: .exited(1), startedAt: 4 * s - 1, now: 4 * s, using: &generator) {
            #expect(why.contains("restart budget of 3"))
        } else {
            Issue.record("the fourth restart inside 10 s must fail")
        }
        // Once the early restarts leave the window, restarting is allowed again.
        var later = RestartPlanner(Self.spec(policy: .always, restarts: 3, within: .seconds(10)))
        for t in [1, 2, 3] as [UInt64] { _ = later.decide(exit: .exited(1), startedAt: 0, now: t * s, using: &generator) }
        if case .restart = later.decide(exit: .exited(1), startedAt: 0, now: 12 * s, using: &generator) {} else {
            Issue.record("restarts older than the window must not count")
        }
    }

    @Test func cleanExitsUnderAlwaysDoNotSpendTheBudget() {
        var planner = RestartPlanner(Self.spec(policy: .always, restarts: 2, within: .seconds(60)))
        var generator = SeededGenerator(seed: 1)
        for t in 1...10 as ClosedRange<UInt64> {
            if case .restart = planner.decide(exit: .exited(0), startedAt: 0, now: t * Self.second, using: &generator) {} else {
                Issue.record("clean exit \(t) under always must restart")
            }
        }
        #expect(planner.recentRestarts.isEmpty)
    }

    @Test func aStableRunResetsTheBackoff() {
        var planner = RestartPlanner(Self.spec(policy: .always, initial: .seconds(1), max: .seconds(60), resetAfter: .seconds(30)))
        var generator = SeededGenerator(seed: 1)
        let s = Self.second
        var delays: [Duration] = []
        var now: UInt64 = 0
        for _ in 0..<3 {
            now += s
            if case .restart(let delay, _) = planner.decide(exit: .exited(1), startedAt: now - s / 2, now: now, using: &generator) { delays.append(delay) }
        }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4)])
        // This run lasted 40 s ≥ reset_after: back to the initial delay.
        now += 40 * s
        if case .restart(let delay, let attempt) = planner.decide(exit: .exited(1), startedAt: now - 40 * s, now: now, using: &generator) {
            #expect(delay == .seconds(1))
            #expect(attempt == 1)
        } else {
            Issue.record("expected a restart")
        }
    }
}
