/// What the host does when a consumer fails on a batch (the consumer's `on_error` setting).
///
/// Records are never dropped silently: a batch is retried while the ring stays held (so the
/// producers feel backpressure), and when the retries are used up, or with `stop`, the route
/// stops: the supervisor logs it, routes nothing more to that consumer, and the run exits 4.
public enum ConsumerErrorPolicy: Equatable, Sendable {
    /// Retry the same batch up to `retries` times, after `delay(beforeRetry:)`; then stop.
    case retry(retries: Int)
    /// Stop the route at the first failure.
    case stop

    /// `on_error: retry`, the default: 5 retries within about 2 s.
    public static let `default` = ConsumerErrorPolicy.retry(retries: 5)

    /// The setting's values, in the order messages list them.
    public static let settingValues = ["retry", "stop"]

    /// Parses `on_error`; nil for an unknown value.
    public init?(setting: String) {
        switch setting {
        case "retry": self = .default
        case "stop": self = .stop
        default: return nil
        }
    }

    /// The wait before retry `attempt` (1-based): 10 ms, 40 ms, 160 ms, 640 ms, then 1 s each;
    /// nil when the policy allows no such retry.
    public func delay(beforeRetry attempt: Int) -> Duration? {
        guard case .retry(let retries) = self, attempt >= 1, attempt <= retries else { return nil }
        let milliseconds = 10 * (1 << min(2 * (attempt - 1), 20))
        return .milliseconds(min(milliseconds, 1000))
    }
}
