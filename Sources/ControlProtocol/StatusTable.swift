
/// The `status` table (also `top`'s body): one row per instance, then one per consumer.
public enum StatusTable {
    public static func lines(_ report: StatusReport) -> [String] {
        var rows: [[String]] = [["INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "RECORDS", "BYTES", "RATE/S", "RING", "BLOCKED"]]
        for worker in report.workers {
            for instance in worker.instances {
                rows.append([
                    instance.label,
                    instance.state + (instance.reason.map { " (\($0))" } ?? ""),
                    instance.pid.map(String.init) ?? "-",
                    instance.uptime.map(duration) ?? "-",
                    String(instance.restarts),
                    instance.lastExit ?? "-",
                    count(Double(instance.records)),
                    bytes(instance.bytes),
                    count(instance.rate),
                    percent(instance.ringFill),
                    duration(instance.blocked),
                ])
            }
        }
        var out = align(rows)
        if !report.consumers.isEmpty {
            out.append("")
            var consumerRows: [[String]] = [["CONSUMER", "PLUGIN", "RECORDS", "ERRORS", "LAG", "QUEUED", "ROUTING"]]
            for consumer in report.consumers {
                consumerRows.append([consumer.name, consumer.plugin, count(Double(consumer.records)), String(consumer.errors),
                                     count(Double(consumer.lag)), String(consumer.queued), consumer.routing ? "yes" : "stopped"])
            }
            out += align(consumerRows)
        }
        return out
    }

    /// The one-line header: pid, manifest, uptime, instance counts by state.
    public static func header(_ report: StatusReport) -> String {
        var states: [String: Int] = [:]
        for worker in report.workers { for instance in worker.instances { states[instance.state, default: 0] += 1 } }
        let summary = states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "ringmaster pid \(report.pid), \(report.manifest), up \(duration(report.uptime))\(report.stopping ? ", stopping" : ""): \(summary.isEmpty ? "no instances" : summary)"
    }

    /// Columns padded to their widest cell; numbers right-aligned.
    public static func align(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.enumerated().map { index, row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                let numeric = index > 0 && column > 1 && cell.first.map { $0.isNumber || $0 == "-" } == true
                return numeric ? padding + cell : cell + padding
            }.joined(separator: "  ").trailingSpacesRemoved
        }
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return seconds < 10 ? String(format1(seconds)) + "s" : "\(Int(seconds))s" }
        let whole = Int(seconds)
        if whole < 3600 { return "\(whole / 60)m\(pad2(whole % 60))s" }
        if whole < 86400 { return "\(whole / 3600)h\(pad2(whole / 60 % 60))m" }
        return "\(whole / 86400)d\(pad2(whole / 3600 % 24))h"
    }

    public static func count(_ value: Double) -> String {
        if value < 10_000 { return value == value.rounded() ? String(Int(value)) : format1(value) }
        if value < 10_000_000 { return format1(value / 1e3) + "k" }
        if value < 10_000_000_000 { return format1(value / 1e6) + "M" }
        return format1(value / 1e9) + "G"
    }

    public static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : format1(scaled) + " " + units[unit]
    }

    public static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

    public static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension String {
    /// The string without its trailing spaces.
    public var trailingSpacesRemoved: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Text for a terminal line.
public enum TerminalText {
    /// At most `width` characters of `line`, control characters (which could move the cursor or
    /// change the terminal's modes) shown as `?`.
    public static func fit(_ line: String, _ width: Int) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for character in line {
            guard count < width else { break }
            count += 1
            let control = character.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
            if control { out.append("?") } else { out.append(contentsOf: character.unicodeScalars) }
        }
        return String(out)
    }
}
