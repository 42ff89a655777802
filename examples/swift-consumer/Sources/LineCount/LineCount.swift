import RingmasterConsumerKit
import RingmasterRendering

/// `linecount`: prints every `every`-th record as a readable line, and a total when the run ends.
final class LineCount: RingmasterConsumer {
    private let host: ConsumerHost
    private let every: Int
    private var seen = 0

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        _ = try every(in: settings)
    }

    private static func every(in settings: ConsumerSettings) throws(SettingsError) -> Int {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: ["every"], plugin: "linecount", into: &problems)
        var every = 1000
        switch settings["every"] {
        case nil: break
        case .integer(let n)? where n >= 1: every = Int(n)
        default: problems.append(.init(key: "every", message: "must be an integer ≥ 1"))
        }
        if !problems.isEmpty { throw SettingsError(problems) }
        return every
    }

    init(settings: ConsumerSettings, host: ConsumerHost) throws {
        self.host = host
        every = try Self.every(in: settings)
    }

    func consume(_ batch: ConsumerBatch) throws {
        var out = ""
        for record in batch {
            seen += 1
            if seen % every == 0 {
                out += "linecount: #\(seen) \(record.worker).\(record.instance) seq \(record.sequence): "
                out += RecordRendering.readable(record.payload, format: record.format) + "\n"
            }
        }
        if !out.isEmpty { try host.writeStandardOutput(out) }
    }

    func close() throws {
        try host.writeStandardOutput("linecount: \(seen) records\n")
    }
}

// The one export line: the C table for the type.
@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: LineCount.self)
}
