import Yams

/// A value read from the manifest with the text it was written as and where.
struct Located<Value> {
    let value: Value
    /// The scalar as written, for "got ..." in messages.
    let text: String
    let position: SourcePosition
}

/// One key of a YAML map, with where the key and its value start.
struct Entry {
    let key: String
    let keyPosition: SourcePosition
    let value: Node
    /// Where the value starts; an empty value (`key:` and nothing) points at its key instead,
    /// because libyaml places an empty scalar wherever the next token begins.
    let valuePosition: SourcePosition
}

/// A YAML map being read: its dotted path, where errors about missing keys point, and its entries.
struct MapNode {
    let path: String
    /// Where the map's own key is written (or the document start for the root).
    let anchor: SourcePosition
    let entries: [Entry]

    /// The dotted path of `key` inside this map.
    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    subscript(key: String) -> Entry? { entries.first { $0.key == key } }
}

/// Walks composed YAML nodes, collecting every error instead of stopping at the first.
///
/// Each reader returns nil after reporting a problem, so a bad value falls back to its inherited
/// one and does not cause a second error further on.
final class ManifestDecoder {
    let file: String
    let resolver: CommandResolver
    private(set) var errors: [ManifestError] = []

    init(file: String, resolver: CommandResolver) {
        self.file = file
        self.resolver = resolver
    }

    func report(_ field: String, at position: SourcePosition, _ message: String) {
        errors.append(ManifestError(position: position, field: field, message: message))
    }

    func position(of node: Node) -> SourcePosition {
        SourcePosition(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    // MARK: Maps and keys

    /// `node` as a map, or nil after reporting "`path` must be `expected` (got ...)".
    func map(_ node: Node, path: String, anchor: SourcePosition, at position: SourcePosition,
             expected: String) -> MapNode? {
        guard case .mapping(let mapping) = node else {
            report(path, at: position, "must be \(expected) (got \(Self.describe(node)))")
            return nil
        }
        var entries: [Entry] = []
        for (keyNode, value) in mapping {
            let keyPosition = self.position(of: keyNode)
            guard case .scalar(let scalar) = keyNode else {
                let subject = path.isEmpty ? "the manifest has" : "has"
                report(path, at: keyPosition, "\(subject) a key that is not a name (got \(Self.describe(keyNode)))")
                continue
            }
            let valuePosition = Self.isEmpty(value) ? keyPosition : self.position(of: value)
            entries.append(Entry(key: scalar.string, keyPosition: keyPosition, value: value,
                                 valuePosition: valuePosition))
        }
        return MapNode(path: path, anchor: anchor, entries: entries)
    }

    /// The entry's value as a map whose own path is `map.field(entry.key)`.
    func map(_ entry: Entry, in parent: MapNode, expected: String) -> MapNode? {
        map(entry.value, path: parent.field(entry.key), anchor: entry.keyPosition,
            at: entry.valuePosition, expected: expected)
    }

    /// Reports every key of `map` not in `known`, with a "did you mean" when one is close.
    func rejectUnknownKeys(_ map: MapNode, known: [String]) {
        for entry in map.entries where !known.contains(entry.key) {
            if entry.key == "<<" {
                // Yams composes merge keys as plain keys; sharing settings is what `defaults` is for.
                report(map.field(entry.key), at: entry.keyPosition,
                       "is a YAML merge key, which manifests do not support (put shared settings in defaults)")
                continue
            }
            let hint = Suggestion.closest(to: entry.key, among: known).map { "did you mean '\($0)'?" }
                ?? "expected one of \(known.joined(separator: ", "))"
            report(map.field(entry.key), at: entry.keyPosition, "is not a known key (\(hint))")
        }
    }

    /// Reports "`field` is missing (expected ...)" at the map's anchor.
    func reportMissing(_ key: String, in map: MapNode, expected: String) {
        report(map.field(key), at: map.anchor, "is missing (expected \(expected))")
    }

    /// Reports names outside `[A-Za-z0-9_-]+`; returns whether `name` is valid.
    func checkName(_ entry: Entry, in map: MapNode, kind: String) -> Bool {
        let valid = !entry.key.isEmpty && entry.key.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
        }
        if !valid {
            report(map.field(entry.key), at: entry.keyPosition,
                   "is not a valid \(kind) name (use letters, digits, '_' and '-')")
        }
        return valid
    }

    // MARK: Describing what was found

    /// How a node is shown after "got": strings quoted, other scalars as written, collections by kind.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            switch Self.tagName(node) {
            case .null: return "null"
            case .str, .timestamp: return "'\(scalar.string)'"
            default: return scalar.string
            }
        case .mapping(let mapping): return mapping.isEmpty ? "an empty map" : "a map"
        case .sequence(let sequence): return sequence.isEmpty ? "an empty list" : "a list"
        case .alias: return "an alias"
        }
    }

    /// The node's resolved YAML tag (`Tag.name` is internal to Yams; its raw value is public).
    static func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    /// The text of a scalar node, nil for collections.
    static func scalarText(_ node: Node) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    /// A plain empty scalar, which YAML reads as null.
    static func isEmpty(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node { return scalar.string.isEmpty && scalar.style == .plain }
        return false
    }

    /// A scalar that YAML resolves to null (`~`, `null`, nothing).
    static func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return Self.tagName(node) == .null }
        return false
    }
}
