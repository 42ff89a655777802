import RingChannel

/// The `channel` keys one layer (`defaults` or a worker) wrote; nil means inherited.
struct ChannelLayer {
    var kind: Located<ChannelKind>?
    var ring: Located<UInt64>?
    var maxRecord: Located<UInt64>?
}

extension ManifestDecoder {
    static let channelKeys = ["kind", "ring", "max_record"]
    /// The manifest's ring limits: the layout allows more, but a 1 GiB ring per worker is
    /// already far past any sensible batch size.
    static let ringRange: ClosedRange<UInt64> = 4096...(1 << 30)

    /// Reads a `channel` map; bad values are reported and left out of the layer.
    func channelLayer(_ entry: Entry, in parent: MapNode) -> ChannelLayer {
        var layer = ChannelLayer()
        guard let map = map(entry, in: parent, expected: "a map with kind, ring and max_record") else {
            return layer
        }
        rejectUnknownKeys(map, known: Self.channelKeys)
        if let kind = map["kind"] { layer.kind = choice(map.slot(kind), ChannelKind.self) }
        if let ring = map["ring"], let size = size(map.slot(ring)) {
            if Self.ringRange.contains(size.value) && size.value & (size.value - 1) == 0 {
                layer.ring = size
            } else {
                report(map.field("ring"), at: size.position,
                       "must be a power of two from 4KiB to 1GiB (got \(size.text))")
            }
        }
        if let maxRecord = map["max_record"], let size = size(map.slot(maxRecord)) {
            if size.value >= 1 {
                layer.maxRecord = size
            } else {
                report(map.field("max_record"), at: size.position, "must be at least 1 byte (got \(size.text))")
            }
        }
        return layer
    }

    /// Applies `layer` over `base`. A max_record above ring/8 is reported against whichever of the
    /// two this layer wrote (max_record first), so a conflict is reported once, where it was made.
    func channel(_ layer: ChannelLayer, over base: ChannelSpec, path: String) -> ChannelSpec {
        let ring = layer.ring?.value ?? base.geometry.capacity
        let maxRecord = layer.maxRecord?.value ?? UInt64(base.geometry.maxRecord)
        var result = base
        if let kind = layer.kind { result.kind = kind.value }
        guard maxRecord <= ring / 8 else {
            if let written = layer.maxRecord {
                report("\(path).max_record", at: written.position,
                       "must be at most ring/8 = \(Units.describe(size: ring / 8)) (got \(written.text))")
            } else if let written = layer.ring {
                report("\(path).ring", at: written.position,
                       "must be at least 8 × max_record = \(Units.describe(size: maxRecord * 8)) "
                       + "(got \(written.text); max_record is inherited)")
            }
            return result
        }
        if let geometry = try? RingGeometry(capacity: ring, maxRecord: UInt32(maxRecord)) {
            result.geometry = geometry
        }
        return result
    }
}
