import Manifest

/// SplitMix64: a small seedable generator, so backoff jitter is reproducible in tests.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator that yields the same sequence for the same seed.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Exponential backoff: `initial × factor^attempt`, capped at `max`, then jittered.
///
/// Proportional jitter draws from `[d(1−j), d(1+j)]`; full jitter from `[d(1−j), d]` with j = 1
/// meaning the classic "anywhere from 0 to d". The result never exceeds `max`.
public struct Backoff: Sendable {
    /// The manifest's backoff settings.
    public let spec: BackoffSpec

    public init(_ spec: BackoffSpec) { self.spec = spec }

    /// The delay before restart number `attempt + 1` (attempt 0 is the first restart).
    public func delay<G: RandomNumberGenerator>(after attempt: Int, using generator: inout G) -> Duration {
        let base = baseDelay(after: attempt)
        let seconds = base.seconds
        let jitter = min(max(spec.jitter, 0), 1)
        guard jitter > 0, seconds > 0 else { return base }
        let u = Double.random(in: 0...1, using: &generator)
        let jittered: Double
        switch spec.jitterMode {
        case .proportional: jittered = seconds * (1 - jitter + 2 * jitter * u)
        case .full: jittered = seconds * (1 - jitter * u)
        }
        return .seconds(min(jittered, spec.max.seconds))
    }

    /// The delay before jitter: `initial × factor^attempt`, capped at `max`.
    public func baseDelay(after attempt: Int) -> Duration {
        let initial = spec.initial.seconds
        let cap = spec.max.seconds
        var value = initial
        for _ in 0..<max(0, attempt) {
            value *= spec.factor
            if value >= cap { return spec.max }
        }
        return .seconds(min(value, cap))
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
