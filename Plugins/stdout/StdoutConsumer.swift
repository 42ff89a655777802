import CRingmasterConsumer
import RingmasterConsumerKit
import RingmasterRendering

/// `stdout`: one readable line per record, `[worker.instance] payload`, rendered by format,
/// written through the host so lines of different consumers never interleave.
final class StdoutConsumer: RingmasterConsumer {
    private let host: ConsumerHost

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: [], plugin: "stdout", into: &problems)
        if !problems.isEmpty { throw SettingsError(problems) }
    }

    init(settings: ConsumerSettings, host: ConsumerHost) { self.host = host }

    func consume(_ batch: ConsumerBatch) throws {
        var out = ""
        var prefix = ""
        var prefixOrigin: (UnsafeRawPointer?, Int, UInt64) = (nil, -1, 0)
        for record in batch {
            let origin = (record.workerBytes.baseAddress, record.instance, record.generation)
            if origin != prefixOrigin {
                prefix = "[\(record.worker).\(record.instance)] "
                prefixOrigin = origin
            }
            out += prefix
            out += RecordRendering.readable(record.payload, format: record.format)
            out += "\n"
        }
        try host.writeStandardOutput(out)
    }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: StdoutConsumer.self)
}
