import SystemKit
/// Turns a record's payload into text by its declared format. The one place every consumer
/// shares, so `stdout`, `jsonl` and the rest agree on what a record looks like. Linked into each
/// plugin (plugins share only the C header with the host) and into the host for its log lines.
///
/// Payload bytes are untrusted: everything here works on the borrowed buffer's own length.
public enum RecordRendering {
    /// The payload as a JSON value: `json` passes valid JSON through (and wraps invalid JSON as a
    /// string), `text` becomes a JSON string with invalid UTF-8 escaped, `bytes` becomes base64,
    /// `file-entry` becomes an object (`FileEntryRendering`).
    public static func jsonValue(_ payload: UnsafeRawBufferPointer, format: PayloadFormat, into out: inout String) {
        switch format {
        case .json:
            // Copy once: the producer may still change the ring's bytes, so validate and emit the
            // same copy. Raw CR/LF can only be whitespace between tokens in valid JSON: make them
            // spaces so the value stays on one line.
            var copy = Array(payload)
            let valid = copy.withUnsafeBytes { JSONSyntax.isValid($0) }
            if valid {
                for index in copy.indices where copy[index] == 0x0A || copy[index] == 0x0D { copy[index] = 0x20 }
                out += String(decoding: copy, as: UTF8.self)
            } else {
                copy.withUnsafeBytes { appendJSONString(escapingInvalidUTF8($0), to: &out) }
            }
        case .text:
            appendJSONString(escapingInvalidUTF8(payload), to: &out)
        case .fileEntry:
            FileEntryRendering.appendJSON(payload, into: &out)
        case .bytes:
            out += "\""
            out += Base64.encode(payload)
            out += "\""
        }
    }

    /// One readable line (no newline) for a terminal: compact JSON, text with control characters
    /// and invalid bytes escaped, or base64.
    public static func readable(_ payload: UnsafeRawBufferPointer, format: PayloadFormat) -> String {
        switch format {
        case .json:
            let copy = Array(payload)
            return copy.withUnsafeBytes { bytes in
                JSONSyntax.isValid(bytes) ? escapeControls(String(decoding: bytes, as: UTF8.self)) : escapeControls(escapingInvalidUTF8(bytes))
            }
        case .text:
            return escapeControls(escapingInvalidUTF8(payload))
        case .fileEntry:
            return FileEntryRendering.readable(payload)
        case .bytes:
            return Base64.encode(payload)
        }
    }

    /// The start of a JSON Lines envelope, the same for every record of one origin:
    /// `{"worker":…,"instance":…,"generation":…,"seq":`. `jsonLine` completes it.
    public static func jsonLinePrefix(worker: String, instance: Int, generation: UInt64) -> String {
        var out = "{\"worker\":"
        appendJSONString(worker, to: &out)
        out += ",\"instance\":\(instance),\"generation\":\(generation),\"seq\":"
        return out
    }

    /// Appends a JSON Lines envelope (no newline):
    /// `{"worker":…,"instance":…,"generation":…,"seq":…,"type":…,"data":…}`, where `prefix` is
    /// `jsonLinePrefix` of the record's origin.
    public static func jsonLine(prefix: String, sequence: UInt64, type: UInt16, payload: UnsafeRawBufferPointer,
                                format: PayloadFormat, into out: inout String) {
        out += prefix
        out += "\(sequence),\"type\":\(type),\"data\":"
        jsonValue(payload, format: format, into: &out)
        out += "}"
    }

    /// Decodes UTF-8, writing each invalid byte as `\xNN` so nothing is silently replaced.
    public static func escapingInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        var index = 0
        let count = bytes.count
        while index < count {
            let length = validSequenceLength(bytes, at: index)
            if length == 0 {
                out += "\\x" + hex(bytes[index])
                index += 1
            } else {
                out += String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]), as: UTF8.self)
                index += length
            }
        }
        return out
    }

    /// Length of the valid UTF-8 scalar starting at `index`, 0 when the byte starts none.
    private static func validSequenceLength(_ b: UnsafeRawBufferPointer, at i: Int) -> Int {
        let first = b[i]
        if first < 0x80 { return 1 }
        let need: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch first {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; upper = 0x9F
        case 0xF0: need = 3; lower = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; upper = 0x8F
        default: return 0
        }
        guard i + need < b.count else { return 0 }
        for k in 1...need {
            let byte = b[i + k]
            let lo: UInt8 = k == 1 ? lower : 0x80
            let hi: UInt8 = k == 1 ? upper : 0xBF
            if byte < lo || byte > hi { return 0 }
        }
        return need + 1
    }

    /// Appends `text` as a JSON string literal.
    public static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u00" + hex(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private static func escapeControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\x" + hex(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// A strict, allocation-free JSON syntax check (RFC 8259), so `json` payloads can be passed
/// through into JSON Lines without breaking the line.
public enum JSONSyntax {
    /// Whether the bytes are exactly one JSON value (surrounding whitespace allowed).
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        guard parser.value(depth: 0) else { return false }
        parser.skipSpace()
        return parser.index == bytes.count
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
        }

        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for k in 0..<count where bytes[index + k] != text.utf8Start[k] { return false }
            index += count
            return true
        }

        mutating func value(depth: Int) -> Bool {
            guard depth < 512, let c = current else { return false }
            switch c {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func object(depth: Int) -> Bool {
            index += 1
            skipSpace()
            if current == UInt8(ascii: "}") { index += 1; return true }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\""), string() else { return false }
                skipSpace()
                guard current == UInt8(ascii: ":") else { return false }
                index += 1
                skipSpace()
                guard value(depth: depth + 1) else { return false }
                skipSpace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "}") { index += 1; return true }
                return false
            }
        }

        mutating func array(depth: Int) -> Bool {
            index += 1
            skipSpace()
            if current == UInt8(ascii: "]") { index += 1; return true }
            while true {
                skipSpace()
                guard value(depth: depth + 1) else { return false }
                skipSpace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "]") { index += 1; return true }
                return false
            }
        }

        mutating func string() -> Bool {
            index += 1
            while let c = current {
                index += 1
                switch c {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"):
                    guard let e = current else { return false }
                    index += 1
                    if e == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            guard let h = current, isHex(h) else { return false }
                            index += 1
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(e) {
                        return false
                    }
                case 0..<0x20: return false
                default:
                    if c >= 0x80 {
                        index -= 1
                        let length = utf8Length(at: index)
                        guard length > 0 else { return false }
                        index += length
                    }
                }
            }
            return false
        }

        func utf8Length(at i: Int) -> Int {
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<min(i + 4, bytes.count)]), as: UTF8.self)
            guard let first = s.unicodeScalars.first, first != "\u{FFFD}" || (i + 2 < bytes.count && bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD) else { return 0 }
            return String(first).utf8.count
        }

        func isHex(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
        }

        mutating func number() -> Bool {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, first >= 0x30, first <= 0x39 else { return false }
            if first == 0x30 { index += 1 } else { digits() }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let d = current, d >= 0x30, d <= 0x39 else { return false }
                digits()
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let d = current, d >= 0x30, d <= 0x39 else { return false }
                digits()
            }
            return index > start
        }

        mutating func digits() {
            while let c = current, c >= 0x30, c <= 0x39 { index += 1 }
        }
    }
}
