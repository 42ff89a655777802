import CRingmasterConsumer
import Glibc
import RingmasterConsumerKit

/// `stats`: per worker, records, payload bytes, rate and restarts; printed at the end, and every
/// `interval` when set.
final class StatsConsumer: RingmasterConsumer {
    private struct Figures {
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        var restarts = 0
        var exits: [String] = []
        var first: UInt64 = 0
        var last: UInt64 = 0
    }

    private let host: ConsumerHost
    private var figures: [String: Figures] = [:]
    private var order: [String] = []
    let tickInterval: Duration?

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        _ = try interval(in: settings)
    }

    private static func interval(in settings: ConsumerSettings) throws(SettingsError) -> Duration? {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: ["interval"], plugin: "stats", into: &problems)
        var interval: Duration? = nil
        if let text = settings.string("interval", problems: &problems) {
            if let parsed = ConsumerSettings.parseDuration(text), parsed > .zero {
                interval = parsed
            } else {
                problems.append(.init(key: "interval", message: "must be a positive duration such as 5s (got '\(text)')"))
            }
        }
        if !problems.isEmpty { throw SettingsError(problems) }
        return interval
    }

    init(settings: ConsumerSettings, host: ConsumerHost) throws {
        self.host = host
        tickInterval = try Self.interval(in: settings)
    }

    func consume(_ batch: ConsumerBatch) throws {
        guard let first = batch.first else { return }
        let now = Self.now()
        let count = UInt64(batch.count)
        let bytes = UInt64(batch.payloadBytes)
        update(first.worker) { f in
            if f.records == 0 { f.first = now }
            f.records += count
            f.bytes += bytes
            f.last = now
        }
    }

    func event(_ event: ConsumerEvent) {
        switch event {
        case .started(let worker, _, let generation, _):
            update(worker) { if generation > 0 { $0.restarts += 1 } }
        case .exited(let worker, let instance, _, let how):
            update(worker) { f in
                f.exits.append("\(worker).\(instance) \(how)")
                if f.exits.count > 4 { f.exits.removeFirst() }
            }
        }
    }

    private func update(_ worker: String, _ body: (inout Figures) -> Void) {
        if figures[worker] == nil {
            figures[worker] = Figures()
            order.append(worker)
        }
        body(&figures[worker]!)
    }

    func tick() throws { try host.writeStandardOutput(report(final: false)) }
    func flush() throws {}
    func close() throws { try host.writeStandardOutput(report(final: true)) }

    /// The table: one line per worker.
    func report(final: Bool) -> String {
        var out = final ? "stats: final\n" : "stats:\n"
        for worker in order {
            let f = figures[worker]!
            let seconds = Double(f.last &- f.first) / 1e9
            let rate = seconds > 0 ? Double(f.records) / seconds : 0
            out += "  \(worker): \(f.records) records, \(f.bytes) bytes, \(Int(rate.rounded())) records/s, \(f.restarts) restarts\n"
            if final && !f.exits.isEmpty { out += "    last exits: \(f.exits.joined(separator: "; "))\n" }
        }
        if order.isEmpty { out += "  (no records)\n" }
        return out
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: StatsConsumer.self)
}
