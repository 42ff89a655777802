// A strict reader of Prometheus text exposition 0.0.4, for the tests of `ringmaster metrics` and
// `GET /metrics`. Stricter than Prometheus where our output promises more: every family has
// `# HELP` then `# TYPE` before its samples, no other comments, no blank lines, no timestamps.

/// A parsed exposition: families in the order written.
public struct Exposition: Sendable {
    public struct Family: Sendable {
        public let name: String
        public let type: String
        public let help: String
        public var samples: [Sample]
    }

    public struct Sample: Sendable {
        public let name: String
        /// Label pairs in the order written.
        public let labels: [(name: String, value: String)]
        public let value: Double

        public func label(_ name: String) -> String? { labels.first { $0.name == name }?.value }
    }

    /// A line that breaks the format, 1-based.
    public struct Problem: Error, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public private(set) var families: [Family] = []

    /// The family called `name`.
    public func family(_ name: String) -> Family? { families.first { $0.name == name } }

    /// The value of the one sample of `name` whose labels include `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = family(name)?.samples.filter { sample in labels.allSatisfy { sample.label($0.key) == $0.value } } ?? []
        return matching.count == 1 ? matching[0].value : nil
    }

    /// Reads `text`, or throws the first problem.
    public static func parse(_ text: String) throws(Problem) -> Exposition {
        var exposition = Exposition()
        guard text.isEmpty || text.hasSuffix("\n") else { throw Problem(line: 0, message: "does not end with a newline") }
        var pendingHelp: (name: String, help: String)?
        var series = Set<String>()
        // Split on the byte: a Character-wise split would keep "\r\n" whole.
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        for (offset, bytes) in lines.enumerated() {
            let line = Substring(String(decoding: bytes, as: UTF8.self))
            let number = offset + 1
            func fail(_ message: String) -> Problem { Problem(line: number, message: "\(message): \(line)") }
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = String(rest.prefix { $0 != " " })
                guard isMetricName(name), rest.count > name.count, pendingHelp == nil else { throw fail("bad HELP line") }
                guard exposition.family(name) == nil else { throw fail("family declared twice") }
                guard let help = unescape(rest.dropFirst(name.count + 1), allowQuote: false) else { throw fail("bad escape in HELP") }
                pendingHelp = (name, help)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, let help = pendingHelp, help.name == parts[0] else { throw fail("TYPE without its HELP just before") }
                guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else { throw fail("unknown type") }
                exposition.families.append(Family(name: help.name, type: String(parts[1]), help: help.help, samples: []))
                pendingHelp = nil
            } else if line.hasPrefix("#") || line.isEmpty {
                throw fail("unexpected comment or blank line")
            } else {
                guard pendingHelp == nil, var family = exposition.families.popLast() else { throw fail("sample before its family's TYPE") }
                guard let sample = parseSample(line) else { throw fail("malformed sample") }
                guard sample.name == family.name else { throw fail("sample of an undeclared family (or not contiguous with it)") }
                if family.type == "counter" && !(sample.value >= 0) { throw fail("counter below zero or NaN") }
                let key = sample.name + "{" + sample.labels.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{0}") + "}"
                guard series.insert(key).inserted else { throw fail("duplicate series") }
                family.samples.append(sample)
                exposition.families.append(family)
            }
        }
        guard pendingHelp == nil else { throw Problem(line: 0, message: "HELP without TYPE at the end") }
        return exposition
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" || first == ":" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ name: String) -> Bool {
        isMetricName(name) && !name.contains(":") && !name.hasPrefix("__")
    }

    /// `\\`, `\n` (and `\"` in label values) undone; nil for any other escape or a trailing `\`.
    static func unescape(_ text: Substring, allowQuote: Bool) -> String? {
        var out = ""
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                switch scalar {
                case "\\": out += "\\"
                case "n": out += "\n"
                case "\"" where allowQuote: out += "\""
                default: return nil
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return escaping ? nil : out
    }

    /// `name{a="x",b="y"} value`, or `name value`; no timestamp.
    static func parseSample(_ line: Substring) -> Sample? {
        let scalars = Array(line.unicodeScalars)
        var i = 0
        var name = ""
        while i < scalars.count, scalars[i] != "{", scalars[i] != " " { name.unicodeScalars.append(scalars[i]); i += 1 }
        guard isMetricName(name), i < scalars.count else { return nil }
        var labels: [(name: String, value: String)] = []
        if scalars[i] == "{" {
            i += 1
            while true {
                var label = ""
                while i < scalars.count, scalars[i] != "=" { label.unicodeScalars.append(scalars[i]); i += 1 }
                guard isLabelName(label), !labels.contains(where: { $0.name == label }),
                      i + 1 < scalars.count, scalars[i + 1] == "\"" else { return nil }
                i += 2
                var raw = ""
                while i < scalars.count, scalars[i] != "\"" {
                    if scalars[i] == "\\", i + 1 < scalars.count { raw.unicodeScalars.append(scalars[i]); i += 1 }
                    if scalars[i] == "\n" { return nil }
                    raw.unicodeScalars.append(scalars[i])
                    i += 1
                }
                guard i < scalars.count, let value = unescape(Substring(raw), allowQuote: true) else { return nil }
                labels.append((label, value))
                i += 1
                guard i < scalars.count else { return nil }
                if scalars[i] == "," { i += 1; continue }
                guard scalars[i] == "}" else { return nil }
                i += 1
                break
            }
        }
        guard i < scalars.count, scalars[i] == " " else { return nil }
        var text = ""
        for scalar in scalars[(i + 1)...] { text.unicodeScalars.append(scalar) }
        guard let value = parseValue(text) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    /// A Go float as Prometheus writes it: decimal or exponent form, `NaN`, `+Inf`, `-Inf`.
    public static func parseValue(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: break
        }
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let mantissa = body.prefix { $0 != "e" && $0 != "E" }
        var exponent = body.dropFirst(mantissa.count)
        let digits = mantissa.filter { $0 != "." }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), mantissa.count - digits.count <= 1 else { return nil }
        if !exponent.isEmpty {
            exponent = exponent.dropFirst()
            if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
            guard !exponent.isEmpty, exponent.allSatisfy(\.isASCIIDigit) else { return nil }
        }
        return Double(text)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
