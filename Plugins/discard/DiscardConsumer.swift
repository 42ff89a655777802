import CRingmasterConsumer
import RingmasterConsumerKit

/// `discard`: takes every batch and does nothing with it (for measuring the supervisor itself,
/// and for workers whose records only need draining).
final class DiscardConsumer: RingmasterConsumer {
    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: [], plugin: "discard", into: &problems)
        if !problems.isEmpty { throw SettingsError(problems) }
    }

    init(settings: ConsumerSettings, host: ConsumerHost) {}

    func consume(_ batch: ConsumerBatch) throws {}
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: DiscardConsumer.self)
}
