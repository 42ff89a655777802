/// The `stop` keys one layer wrote; nil means inherited.
struct StopLayer {
    var signal: Located<(number: Int32, name: String)>?
    var grace: Located<Duration>?
}

extension ManifestDecoder {
    static let stopKeys = ["signal", "grace"]

    /// Reads a `stop` map. Signal names are accepted in any case, with or without `SIG`.
    func stopLayer(_ entry: Entry, in parent: MapNode) -> StopLayer {
        var layer = StopLayer()
        guard let map = map(entry, in: parent, expected: "a map with signal and grace") else { return layer }
        rejectUnknownKeys(map, known: Self.stopKeys)
        if let signal = map["signal"] {
            let names = StopSpec.signalNumbers.map(\.key)
            let expected = "one of \(names.joined(separator: ", "))"
            if let text = text(map.slot(signal), expected: expected) {
                var name = text.value.uppercased()
                if name.hasPrefix("SIG") { name.removeFirst(3) }
                if let number = StopSpec.signalNumbers.first(where: { $0.key == name })?.value {
                    layer.signal = Located(value: (number, name), text: text.text, position: text.position)
                } else {
                    let hint = Suggestion.closest(to: name, among: names).map { "; did you mean '\($0)'?" } ?? ""
                    report(map.field("signal"), at: text.position,
                           "must be \(expected) (got \(Self.describe(signal.value))\(hint))")
                }
            }
        }
        if let grace = map["grace"] { layer.grace = duration(map.slot(grace)) }
        return layer
    }

    /// Applies `layer` over `base`.
    func stop(_ layer: StopLayer, over base: StopSpec) -> StopSpec {
        var result = base
        if let signal = layer.signal {
            result.signal = signal.value.number
            result.signalName = signal.value.name
        }
        if let grace = layer.grace { result.grace = grace.value }
        return result
    }
}
