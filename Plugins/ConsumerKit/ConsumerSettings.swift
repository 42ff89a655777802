/// A consumer's settings: the manifest entry's keys other than `plugin`, as the host passed them
/// (a JSON object). Typed accessors collect problems instead of failing at the first one, so
/// `ringmaster validate` can report every one of them with its manifest position.
public struct ConsumerSettings: Sendable {
    /// A settings value as JSON has it.
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case number(Double)
        case bool(Bool)
        case list([Value])
        case map([String: Value])
        case null
    }

    /// Every setting by key.
    public let values: [String: Value]

    /// Parses the host's JSON object.
    public init(json: String) throws(SettingsError) {
        var parser = SettingsParser(bytes: Array(json.utf8))
        guard case .map(let values)? = parser.document() else {
            throw SettingsError([.init(key: nil, message: "the host passed settings that are not a JSON object")])
        }
        self.values = values
    }

    /// Settings from values (for tests).
    public init(_ values: [String: Value]) { self.values = values }

    /// The value of `key`, if present.
    public subscript(key: String) -> Value? { values[key] }

    /// Adds a problem for each key not in `allowed`: "`key`: is not a setting of the `plugin`
    /// consumer (it takes …)".
    public func rejectUnknown(allowing allowed: Set<String>, plugin: String, into problems: inout [SettingsError.Problem]) {
        for key in values.keys.sorted() where !allowed.contains(key) {
            let expected = allowed.isEmpty ? "takes no settings" : "takes \(allowed.sorted().joined(separator: ", "))"
            problems.append(.init(key: key, message: "is not a setting of the \(plugin) consumer (it \(expected))"))
        }
    }

    /// A string setting; an integer is taken as its digits. Nil when absent or (with a problem)
    /// of another type.
    public func string(_ key: String, problems: inout [SettingsError.Problem]) -> String? {
        switch values[key] {
        case nil: return nil
        case .string(let text)?: return text
        case .integer(let n)?: return String(n)
        default:
            problems.append(.init(key: key, message: "must be a string"))
            return nil
        }
    }

    /// An integer setting in `range`. Nil when absent or (with a problem) of another type or out of range.
    public func integer(_ key: String, in range: ClosedRange<Int64>, problems: inout [SettingsError.Problem]) -> Int64? {
        switch values[key] {
        case nil: return nil
        case .integer(let n)? where range.contains(n): return n
        default:
            problems.append(.init(key: key, message: "must be an integer from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
    }

    /// A size setting such as `64MiB`, `512KiB`, `4096` (units B, KiB, MiB, GiB, TiB).
    public func size(_ key: String, problems: inout [SettingsError.Problem]) -> UInt64? {
        guard let text = string(key, problems: &problems) else { return nil }
        guard let size = Self.parseSize(text) else {
            problems.append(.init(key: key, message: "must be a size such as 64MiB, 512KiB or 4096 (got '\(text)')"))
            return nil
        }
        return size
    }

    /// `4096`, `64KiB`, `1MiB`: a whole number and an optional binary unit; nil otherwise.
    public static func parseSize(_ text: String) -> UInt64? {
        let units: [(String, UInt64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("B", 1), ("", 1)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(number) else { continue }
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        return nil
    }

    /// A duration setting such as `50ms`, `5s`, `2m` (units ns, us, ms, s, m, h).
    public func duration(_ key: String, problems: inout [SettingsError.Problem]) -> Duration? {
        guard let text = string(key, problems: &problems) else { return nil }
        guard let duration = Self.parseDuration(text) else {
            problems.append(.init(key: key, message: "must be a duration such as 50ms, 5s or 2m (got '\(text)')"))
            return nil
        }
        return duration
    }

    /// `50ms`, `1.5s`, `2m`: a non-negative decimal number and one unit; nil otherwise.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  number.first != ".", let value = Double(number) else { continue }
            let nanoseconds = value * scale
            guard nanoseconds < 9.2e18 else { return nil }
            return .nanoseconds(Int64(nanoseconds))
        }
        return nil
    }
}

/// What is wrong with a consumer's settings; each problem names its setting when it has one.
public struct SettingsError: Error, CustomStringConvertible, Sendable {
    /// One problem: reported at `key`'s position in the manifest, or at the `plugin` value.
    public struct Problem: Sendable, Equatable {
        public var key: String?
        public var message: String

        public init(key: String?, message: String) {
            self.key = key
            self.message = message
        }
    }

    public var problems: [Problem]

    public init(_ problems: [Problem]) { self.problems = problems }

    /// A problem with one setting.
    public init(key: String, _ message: String) { problems = [Problem(key: key, message: message)] }

    /// One line per problem, "key: message" (the ABI's convention for positioned messages).
    public var description: String {
        problems.map { problem in problem.key.map { "\($0): \(problem.message)" } ?? problem.message }
            .joined(separator: "\n")
    }
}

/// A strict little JSON reader for the settings object (the host writes it; no Foundation, so a
/// plugin stays small).
struct SettingsParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> ConsumerSettings.Value? {
        skipSpace()
        guard let value = value(depth: 0) else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
    }

    private mutating func literal(_ text: String) -> Bool {
        let expected = Array(text.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<(index + expected.count)]) == expected else { return false }
        index += expected.count
        return true
    }

    private mutating func value(depth: Int) -> ConsumerSettings.Value? {
        guard depth < 64, let c = current else { return nil }
        switch c {
        case UInt8(ascii: "{"):
            index += 1
            var map: [String: ConsumerSettings.Value] = [:]
            skipSpace()
            if current == UInt8(ascii: "}") { index += 1; return .map(map) }
            while true {
                skipSpace()
                guard case .string(let key)? = string() else { return nil }
                skipSpace()
                guard current == UInt8(ascii: ":") else { return nil }
                index += 1
                skipSpace()
                guard let item = value(depth: depth + 1) else { return nil }
                map[key] = item
                skipSpace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "}") { index += 1; return .map(map) }
                return nil
            }
        case UInt8(ascii: "["):
            index += 1
            var list: [ConsumerSettings.Value] = []
            skipSpace()
            if current == UInt8(ascii: "]") { index += 1; return .list(list) }
            while true {
                skipSpace()
                guard let item = value(depth: depth + 1) else { return nil }
                list.append(item)
                skipSpace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "]") { index += 1; return .list(list) }
                return nil
            }
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default: return number()
        }
    }

    private mutating func string() -> ConsumerSettings.Value? {
        guard current == UInt8(ascii: "\"") else { return nil }
        index += 1
        var out: [UInt8] = []
        while let c = current {
            index += 1
            switch c {
            case UInt8(ascii: "\""): return .string(String(decoding: out, as: UTF8.self))
            case UInt8(ascii: "\\"):
                guard let e = current else { return nil }
                index += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else { return nil }
                    index += 4
                    // Surrogates (from the host's own escaping of control characters only) are not
                    // expected; an unpaired one becomes U+FFFD.
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    out += Array(String(scalar).utf8)
                default: out.append(e)
                }
            default: out.append(c)
            }
        }
        return nil
    }

    private mutating func number() -> ConsumerSettings.Value? {
        let start = index
        while let c = current, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || (c >= 0x30 && c <= 0x39) { index += 1 }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if let integer = Int64(text) { return .integer(integer) }
        if let double = Double(text), !text.isEmpty { return .number(double) }
        return nil
    }
}
