import RingChannel

/// How a worker's records are framed, as declared in the manifest's `format`.
public enum RecordFormat: String, Sendable, CaseIterable {
    /// One JSON document per record.
    case json
    /// One line of UTF-8 text per record.
    case text
    /// Opaque bytes (the default).
    case bytes
    /// The file walker's file-entry records.
    case fileEntry = "file-entry"
}

/// A worker's ring: which kind of shared memory, and its geometry.
public struct ChannelSpec: Hashable, Sendable {
    /// memfd (Linux default) or POSIX shared memory.
    public var kind: ChannelKind
    /// Capacity (a power of two from 4 KiB to 1 GiB in a manifest) and largest record (≤ capacity/8).
    public var geometry: RingGeometry

    /// Makes a channel spec.
    public init(kind: ChannelKind, geometry: RingGeometry) {
        self.kind = kind
        self.geometry = geometry
    }

    /// `{ kind: memfd, ring: 4MiB, max_record: 256KiB }`.
    public static let `default` = ChannelSpec(kind: .memfd, geometry: .default)
}

/// When a worker that exited is started again.
public enum RestartPolicyKind: String, Sendable, CaseIterable {
    /// After every exit, successful or not.
    case always
    /// After an exit code outside `successExitCodes`, or death by a signal (the default).
    case onFailure = "on-failure"
    /// Never: an exited worker stays down.
    case never
}

/// How random jitter is applied to a backoff delay `d`.
public enum JitterMode: String, Sendable, CaseIterable {
    /// Uniform in `d × (1 − jitter) ... d × (1 + jitter)` (the default).
    case proportional
    /// "Full jitter": uniform in `d × (1 − jitter) ... d`; with jitter 1, anywhere in `0 ... d`.
    case full
}

/// Exponential backoff between restarts: `initial × factor^n`, capped at `max`, then jittered.
public struct BackoffSpec: Hashable, Sendable {
    /// The first delay; greater than zero.
    public var initial: Duration
    /// The cap; at least `initial`.
    public var max: Duration
    /// The growth per consecutive restart; at least 1.
    public var factor: Double
    /// The fraction of randomness, from 0 to 1.
    public var jitter: Double
    /// How `jitter` is applied.
    public var jitterMode: JitterMode

    /// Makes a backoff spec; the manifest reader enforces the ranges, this initializer does not.
    public init(initial: Duration, max: Duration, factor: Double, jitter: Double, jitterMode: JitterMode) {
        self.initial = initial
        self.max = max
        self.factor = factor
        self.jitter = jitter
        self.jitterMode = jitterMode
    }

    /// `{ initial: 50ms, max: 30s, factor: 2, jitter: 0.2, jitter_mode: proportional }`.
    public static let `default` = BackoffSpec(initial: .milliseconds(50), max: .seconds(30),
                                              factor: 2, jitter: 0.2, jitterMode: .proportional)
}

/// The restart intensity limit: more than `restarts` restarts within `within` gives up on the worker.
public struct RestartBudget: Hashable, Sendable {
    /// Restarts allowed in the window; 0 means the first failure is final.
    public var restarts: Int
    /// The sliding window; greater than zero.
    public var within: Duration

    /// Makes a budget.
    public init(restarts: Int, within: Duration) {
        self.restarts = restarts
        self.within = within
    }

    /// `{ restarts: 10, within: 60s }`.
    public static let `default` = RestartBudget(restarts: 10, within: .seconds(60))
}

/// A worker's restart policy.
public struct RestartSpec: Hashable, Sendable {
    /// When to restart.
    public var policy: RestartPolicyKind
    /// Exit codes (0...255) that count as success for `on-failure`; `[0]` by default.
    public var successExitCodes: Set<Int32>
    /// The delay before each restart.
    public var backoff: BackoffSpec
    /// The restart intensity limit.
    public var budget: RestartBudget
    /// A run at least this long counts as stable: the backoff starts again from `initial`.
    public var resetAfter: Duration

    /// Makes a restart spec.
    public init(policy: RestartPolicyKind, successExitCodes: Set<Int32>, backoff: BackoffSpec,
                budget: RestartBudget, resetAfter: Duration) {
        self.policy = policy
        self.successExitCodes = successExitCodes
        self.backoff = backoff
        self.budget = budget
        self.resetAfter = resetAfter
    }

    /// `on-failure`, success `[0]`, the default backoff and budget, `reset_after: 30s`.
    public static let `default` = RestartSpec(policy: .onFailure, successExitCodes: [0], backoff: .default,
                                              budget: .default, resetAfter: .seconds(30))
}

/// How a worker is asked to stop: a signal, then SIGKILL after `grace`.
public struct StopSpec: Hashable, Sendable {
    /// The signal number (Linux numbering).
    public var signal: Int32
    /// The signal's short name without `SIG`: `TERM`, `INT`, `HUP`, `QUIT`, `KILL`, `USR1` or `USR2`.
    public var signalName: String
    /// How long the worker has to exit before it is killed.
    public var grace: Duration

    /// Makes a stop spec.
    public init(signal: Int32, signalName: String, grace: Duration) {
        self.signal = signal
        self.signalName = signalName
        self.grace = grace
    }

    /// `{ signal: TERM, grace: 5s }`.
    public static let `default` = StopSpec(signal: 15, signalName: "TERM", grace: .seconds(5))

    /// The signals a manifest may name, in the order error messages list them, with their Linux
    /// numbers. The manifest accepts each name with or without `SIG`, in any letter case.
    public static let signalNumbers: KeyValuePairs<String, Int32> = [
        "TERM": 15, "INT": 2, "HUP": 1, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12,
    ]
}
