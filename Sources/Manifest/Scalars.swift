import Yams

/// A value to read: the node, its dotted field name, and where errors about it point.
struct Slot {
    let node: Node
    let field: String
    let position: SourcePosition
}

extension MapNode {
    /// The entry's value as a slot named `path.key`.
    func slot(_ entry: Entry) -> Slot {
        Slot(node: entry.value, field: field(entry.key), position: entry.valuePosition)
    }
}

/// Typed scalar readers. Each returns nil after reporting `field must be <expected> (got ...)`.
///
/// Strings that fail to parse are quoted after "got" (`got 'two'`); values that parsed but are
/// out of range are shown as written (`got 0`, `got 3MiB`).
extension ManifestDecoder {
    /// Reports "must be `expected` (got <node>)".
    func reportType(_ slot: Slot, _ expected: String) {
        report(slot.field, at: slot.position, "must be \(expected) (got \(Self.describe(slot.node)))")
    }

    /// A non-null scalar's text, as written.
    func text(_ slot: Slot, expected: String, allowEmpty: Bool = true) -> Located<String>? {
        guard case .scalar(let scalar) = slot.node, !Self.isNull(slot.node),
              allowEmpty || !scalar.string.isEmpty else {
            reportType(slot, expected)
            return nil
        }
        return Located(value: scalar.string, text: scalar.string, position: slot.position)
    }

    /// An integer in `range`; `expected` describes both the type and the range.
    func integer(_ slot: Slot, in range: ClosedRange<Int>, expected: String) -> Located<Int>? {
        guard Self.tagName(slot.node) == .int, let value = slot.node.int, case .scalar(let scalar) = slot.node else {
            reportType(slot, expected)
            return nil
        }
        guard range.contains(value) else {
            report(slot.field, at: slot.position, "must be \(expected) (got \(scalar.string))")
            return nil
        }
        return Located(value: value, text: scalar.string, position: slot.position)
    }

    /// A finite number (integer or float) accepted by `isValid`.
    func number(_ slot: Slot, expected: String, isValid: (Double) -> Bool) -> Located<Double>? {
        let name = Self.tagName(slot.node)
        guard name == .int || name == .float, case .scalar(let scalar) = slot.node,
              let value = name == .int ? slot.node.int.map(Double.init) : slot.node.float else {
            reportType(slot, expected)
            return nil
        }
        guard value.isFinite, isValid(value) else {
            report(slot.field, at: slot.position, "must be \(expected) (got \(scalar.string))")
            return nil
        }
        return Located(value: value, text: scalar.string, position: slot.position)
    }

    /// A duration (`Units.duration`); with `positive`, zero is rejected too.
    /// `stall_timeout`: a positive duration, or `none` (no stall detection, e.g. against an
    /// inherited default). nil: invalid (reported); `.some(nil)`: none.
    func durationOrNone(_ slot: Slot) -> Duration?? {
        if case .scalar(let scalar) = slot.node, scalar.string == "none" { return .some(nil) }
        return duration(slot, positive: true).map { .some($0.value) }
    }

    func duration(_ slot: Slot, positive: Bool = false) -> Located<Duration>? {
        let expected = "a duration such as 50ms, 5s, 2m or 1h"
        guard let text = text(slot, expected: expected) else { return nil }
        guard let value = Units.duration(text.value) else {
            let got = text.value.allSatisfy(\.isNumber) && !text.value.isEmpty
                ? "\(text.value), which has no unit: use \(Units.durationSuffixes)"
                : Self.describe(slot.node)
            report(slot.field, at: slot.position, "must be \(expected) (got \(got))")
            return nil
        }
        if positive && value == .zero {
            report(slot.field, at: slot.position, "must be greater than 0 (got \(text.value))")
            return nil
        }
        return Located(value: value, text: text.value, position: slot.position)
    }

    /// A size in bytes (`Units.size`).
    func size(_ slot: Slot) -> Located<UInt64>? {
        let expected = "a size such as 4096, 64KiB or 4MiB"
        guard let text = text(slot, expected: expected) else { return nil }
        guard let value = Units.size(text.value) else {
            report(slot.field, at: slot.position,
                   "must be \(expected) (got \(Self.describe(slot.node)); units are \(Units.sizeSuffixes))")
            return nil
        }
        return Located(value: value, text: text.value, position: slot.position)
    }

    /// One of an enumeration's raw values, with a "did you mean" for near misses.
    func choice<Choice: RawRepresentable & CaseIterable>(_ slot: Slot, _: Choice.Type) -> Located<Choice>?
    where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        return choice(slot, names: names).flatMap { found in
            Choice(rawValue: found.value).map { Located(value: $0, text: found.text, position: found.position) }
        }
    }

    /// One of `names` exactly as written, with a "did you mean" for near misses.
    func choice(_ slot: Slot, names: [String]) -> Located<String>? {
        let expected = "one of \(names.joined(separator: ", "))"
        guard let text = text(slot, expected: expected) else { return nil }
        guard names.contains(text.value) else {
            let hint = Suggestion.closest(to: text.value, among: names).map { "; did you mean '\($0)'?" } ?? ""
            report(slot.field, at: slot.position, "must be \(expected) (got \(Self.describe(slot.node))\(hint))")
            return nil
        }
        return text
    }

    /// A list's elements as slots named `field[i]`, or nil after reporting that it is not a list.
    func list(_ slot: Slot, expected: String) -> [Slot]? {
        guard case .sequence(let sequence) = slot.node else {
            reportType(slot, expected)
            return nil
        }
        return sequence.enumerated().map { index, node in
            Slot(node: node, field: "\(slot.field)[\(index)]",
                 position: Self.isEmpty(node) ? slot.position : position(of: node))
        }
    }
}
