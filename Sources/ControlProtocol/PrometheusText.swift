/// A status report as Prometheus text exposition, format version 0.0.4: what `GET /metrics` and
/// `ringmaster metrics` return (docs/METRICS.md lists every family).
///
/// The output is a pure function of the report: every family always appears with its `# HELP`
/// and `# TYPE` lines, families are sorted by name, series keep the report's order (workers and
/// consumers in manifest order, instances by index; states and exit reasons sorted), and label
/// values are escaped as the format requires. No timestamps: the scraper stamps the samples.
public enum PrometheusText {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every state an instance can be in, so `ringmaster_instance_state` always has one series
    /// per state (1 for the current one, 0 for the others) and a query never sees one vanish.
    public static let instanceStates = ["backoff", "draining", "failed", "finished", "held", "idle", "running", "stopped", "stopping"]
    /// The exit reasons counted for every instance, 0 until one happens.
    public static let exitReasons = ["exit_0", "exit_nonzero", "quarantined", "signal"]

    /// The exposition of `report`, ending with a newline.
    public static func render(_ report: StatusReport, version: String = RingmasterVersion.current) -> String {
        var families = Families()
        families.gauge("ringmaster_build_info", "Always 1; the version label says which ringmaster runs.",
                       [Series(["version": version], 1)])
        families.gauge("ringmaster_uptime_seconds", "Seconds since the supervisor started.", [Series([:], report.uptime)])
        families.gauge("ringmaster_stopping", "1 once the supervisor is shutting down, else 0.",
                       [Series([:], report.stopping ? 1 : 0)])
        addWorkers(report.workers, to: &families)
        addConsumers(report.consumers, to: &families)
        return families.text()
    }

    private static func addWorkers(_ workers: [WorkerStatus], to families: inout Families) {
        // A reload that changes a worker lists its old instance (still stopping) before the new
        // one with the same index: the later one wins, so no series appears twice.
        var pools: [(name: String, size: Int)] = []
        var instances: [(worker: String, index: String, status: InstanceStatus)] = []
        for worker in workers {
            pools.removeAll { $0.name == worker.name }
            pools.append((worker.name, worker.size))
            for status in worker.instances {
                let index = indexLabel(status.label)
                instances.removeAll { $0.worker == worker.name && $0.index == index }
                instances.append((worker.name, index, status))
            }
        }
        families.gauge("ringmaster_worker_pool_size", "The pool size asked for (manifest, scale or reload).",
                       pools.map { Series(["worker": $0.name], Double($0.size)) })

        func each(_ value: (InstanceStatus) -> Double) -> [Series] {
            instances.map { Series(["worker": $0.worker, "instance": $0.index], value($0.status)) }
        }
        func eachUInt(_ value: (InstanceStatus) -> UInt64) -> [Series] {
            instances.map { Series(["worker": $0.worker, "instance": $0.index], exactly: value($0.status)) }
        }
        families.counter("ringmaster_records_total",
                         "Data records delivered (drained and routed) over the instance's life, across restarts.",
                         eachUInt(\.records))
        families.counter("ringmaster_bytes_total", "Payload bytes of the delivered data records.", eachUInt(\.bytes))
        families.counter("ringmaster_restarts_total", "Restarts of the instance (the generation of its ring).",
                         each { Double($0.restarts) })
        families.counter("ringmaster_quarantines_total", "Times the instance's ring broke the protocol and was quarantined.",
                         each { Double($0.quarantines) })
        families.counter("ringmaster_producer_blocked_seconds_total",
                         "Seconds the producer waited for ring space (backpressure).", each(\.blocked))
        families.gauge("ringmaster_ring_used_bytes", "Ring bytes committed by the producer and not yet released.",
                       eachUInt(\.ringUsed))
        families.gauge("ringmaster_ring_capacity_bytes", "The ring's data capacity in bytes.", eachUInt(\.ringCapacity))
        families.gauge("ringmaster_ring_fill_ratio", "Used over capacity, 0 to 1.", each(\.ringFill))
        families.gauge("ringmaster_instance_up", "1 while the instance has a live process (running or stopping), else 0.",
                       each { $0.state == "running" || $0.state == "stopping" ? 1 : 0 })

        var states: [Series] = []
        var exits: [Series] = []
        for (worker, index, status) in instances {
            for state in Set(instanceStates + [status.state]).sorted() {
                states.append(Series(["worker": worker, "instance": index, "state": state], state == status.state ? 1 : 0))
            }
            for reason in Set(exitReasons + status.exits.keys).sorted() {
                exits.append(Series(["worker": worker, "instance": index, "reason": reason], Double(status.exits[reason] ?? 0)))
            }
        }
        families.gauge("ringmaster_instance_state", "1 for the instance's current state, 0 for every other state.", states)
        families.counter("ringmaster_exits_total", "Exits of the instance's processes by reason.", exits)
    }

    private static func addConsumers(_ consumers: [ConsumerStatus], to families: inout Families) {
        var unique: [ConsumerStatus] = []
        for consumer in consumers {
            unique.removeAll { $0.name == consumer.name }
            unique.append(consumer)
        }
        func each(_ value: (ConsumerStatus) -> UInt64) -> [Series] {
            unique.map { Series(["consumer": $0.name, "plugin": $0.plugin], exactly: value($0)) }
        }
        families.counter("ringmaster_consumer_records_total", "Records the consumer's plugin consumed.", each(\.records))
        families.counter("ringmaster_consumer_errors_total", "Batches the consumer's plugin failed on for good (retries used up).", each(\.errors))
        families.gauge("ringmaster_consumer_lag_records", "Records routed to the consumer and not yet consumed.", each(\.lag))
        families.gauge("ringmaster_consumer_queued_batches", "Batches waiting in the consumer's queue.",
                       each { UInt64(max(0, $0.queued)) })
        families.gauge("ringmaster_consumer_routing", "1 while records are routed to the consumer, 0 once it stopped after an error.",
                       each { $0.routing ? 1 : 0 })
    }

    /// `worker.3` → `3`; a label without a dot stays whole.
    static func indexLabel(_ label: String) -> String {
        guard let dot = label.lastIndex(of: ".") else { return label }
        return String(label[label.index(after: dot)...])
    }

    // MARK: escaping and numbers

    /// A label value as the format writes it between double quotes: `\` → `\\`, `"` → `\"`,
    /// line feed → `\n`.
    public static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A `# HELP` text: `\` → `\\`, line feed → `\n`.
    public static func escapeHelp(_ text: String) -> String {
        var escaped = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A sample value: integers without a fraction, other numbers in Swift's shortest round-trip
    /// form (which Prometheus parses), `NaN`, `+Inf`, `-Inf`.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// One sample of a family: its labels in order, and its value as written.
private struct Series {
    let labels: [(String, String)]
    let value: String

    init(_ labels: KeyValuePairs<String, String>, _ value: Double) {
        self.labels = labels.map { ($0.key, $0.value) }
        self.value = PrometheusText.format(value)
    }

    /// An integer written exactly, beyond 2^53 too.
    init(_ labels: KeyValuePairs<String, String>, exactly value: UInt64) {
        self.labels = labels.map { ($0.key, $0.value) }
        self.value = String(value)
    }
}

/// The families being built, written out sorted by name.
private struct Families {
    private var items: [(name: String, type: String, help: String, series: [Series])] = []

    mutating func gauge(_ name: String, _ help: String, _ series: [Series]) { items.append((name, "gauge", help, series)) }
    mutating func counter(_ name: String, _ help: String, _ series: [Series]) { items.append((name, "counter", help, series)) }

    func text() -> String {
        var out = ""
        for family in items.sorted(by: { $0.name < $1.name }) {
            out += "# HELP \(family.name) \(PrometheusText.escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.type)\n"
            for series in family.series {
                out += family.name
                if !series.labels.isEmpty {
                    out += "{" + series.labels.map { "\($0.0)=\"\(PrometheusText.escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(series.value)\n"
            }
        }
        return out
    }
}
