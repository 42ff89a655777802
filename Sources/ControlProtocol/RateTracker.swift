/// Records per second per instance, from the `records` counts top saw: over the last second or
/// more (the newest sample at least a second old), or since the first sample when there is no
/// such one yet. Pure: the caller passes the clock.
public struct RateTracker {
    public init() {}

    /// How far back a rate reaches, at least.
    public static let window: UInt64 = 1_000_000_000

    private var samples: [String: [(time: UInt64, records: UInt64)]] = [:]

    /// Replaces each instance's `rate` with top's own, where it has two samples; the first frame
    /// (and an instance just added) keeps the supervisor's.
    public mutating func apply(to report: inout StatusReport, at now: UInt64) {
        var seen: Set<String> = []
        for w in report.workers.indices {
            for i in report.workers[w].instances.indices {
                let instance = report.workers[w].instances[i]
                seen.insert(instance.label)
                if let rate = record(instance.label, records: instance.records, at: now) {
                    report.workers[w].instances[i].rate = rate
                }
            }
        }
        samples = samples.filter { seen.contains($0.key) }
    }

    /// Adds a sample; the rate over the window, nil with a single sample.
    public mutating func record(_ label: String, records: UInt64, at now: UInt64) -> Double? {
        var history = samples[label] ?? []
        // A count that went down belongs to a new instance (scaled down and up again): start over.
        if let last = history.last, last.records > records || last.time > now { history.removeAll() }
        history.append((now, records))
        while history.count > 2 && now - history[1].time >= Self.window { history.removeFirst() }
        samples[label] = history
        guard let first = history.first, history.count > 1, now > first.time else { return nil }
        return Double(records - first.records) / (Double(now - first.time) / 1e9)
    }
}
