import Foundation
import TestHarness

/// One conformance vector (conformance/README.md): a geometry, header overrides, and either an
/// expected attach error or a list of operations and assertions.
struct Vector {
    var name = ""
    var path = ""
    var capacity: UInt64 = 0
    var maxRecord: UInt32 = 0
    var headerOverrides: [(field: String, value: UInt64)] = []
    var attachError: String?
    var statements: [(line: Int, statement: Statement)] = []

    enum Statement {
        case send(type: UInt16, payload: [UInt8])
        case reserve(type: UInt16, length: Int, payload: [UInt8])
        case commit(used: Int)
        case abort
        case batch
        case end
        case checkpoint([UInt8])
        case log([UInt8])
        case finish
        case release(UInt64)
        case failSend(type: UInt16, payload: [UInt8])
        case tail(UInt64)
        case committed(UInt64)
        /// The whole segment; `lines` are the 0-based indices of the `image` and `end-image` lines.
        case image([UInt8], lines: ClosedRange<Int>)
    }

    /// Every `.vec` file in conformance/vectors, sorted by name.
    static func all() throws -> [Vector] {
        let directory = packageRoot + "/conformance/vectors"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".vec") }.sorted()
        return try names.map { try Vector(path: directory + "/" + $0) }
    }

    init(path: String) throws {
        self.path = path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        func fail(_ message: String) -> VectorError { VectorError(message: "\(path):\(index + 1): \(message)") }
        while index < lines.count {
            let line = lines[index]
            let words = line.split(separator: " ").map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#") else { index += 1; continue }
            func number(_ at: Int) throws -> UInt64 {
                guard at < words.count, let value = Vector.parseNumber(words[at]) else { throw fail("expected a number in `\(line)`") }
                return value
            }
            func payload(_ at: Int) throws -> [UInt8] {
                guard at < words.count, let bytes = Vector.parsePayload(words[at]) else { throw fail("expected a payload in `\(line)`") }
                return bytes
            }
            let statement: Statement?
            switch keyword {
            case "vector": name = words.count > 1 ? words[1] : ""; statement = nil
            case "capacity": capacity = try number(1); statement = nil
            case "max-record": maxRecord = UInt32(try number(1)); statement = nil
            case "header":
                guard words.count == 3 else { throw fail("`header FIELD VALUE`") }
                headerOverrides.append((words[1], try number(2))); statement = nil
            case "attach-error":
                attachError = String(line.dropFirst("attach-error ".count)); statement = nil
            case "send": statement = .send(type: UInt16(try number(1)), payload: try payload(2))
            case "reserve": statement = .reserve(type: UInt16(try number(1)), length: Int(try number(2)), payload: try payload(3))
            case "commit": statement = .commit(used: Int(try number(1)))
            case "abort": statement = .abort
            case "batch": statement = .batch
            case "end": statement = .end
            case "checkpoint": statement = .checkpoint(try payload(1))
            case "log": statement = .log(try payload(1))
            case "finish": statement = .finish
            case "release": statement = .release(try number(1))
            case "fail":
                guard words.count == 4, words[1] == "send" else { throw fail("`fail send TYPE PAYLOAD`") }
                statement = .failSend(type: UInt16(try number(2)), payload: try payload(3))
            case "tail": statement = .tail(try number(1))
            case "committed": statement = .committed(try number(1))
            case "image":
                let start = index
                var image = [UInt8](repeating: 0, count: 4096 + Int(capacity))
                index += 1
                while index < lines.count, lines[index] != "end-image" {
                    let fields = lines[index].split(separator: " ")
                    guard let first = fields.first, let offset = Int(first, radix: 16) else { throw fail("image line `\(lines[index])`") }
                    let bytes = Vector.parseHex(fields.dropFirst().joined())
                    guard let bytes, offset + bytes.count <= image.count else { throw fail("image line `\(lines[index])`") }
                    image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
                    index += 1
                }
                guard index < lines.count else { throw fail("`image` without `end-image`") }
                statement = .image(image, lines: start...index)
            default: throw fail("unknown statement `\(keyword)`")
            }
            if let statement { statements.append((index + 1, statement)) }
            index += 1
        }
    }

    static func parseNumber(_ word: String) -> UInt64? {
        word.hasPrefix("0x") ? UInt64(word.dropFirst(2), radix: 16) : UInt64(word)
    }

    static func parseHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// `-`, `text:CHARS`, `hex:HEX`, `pattern:LEN:SEED`.
    static func parsePayload(_ word: String) -> [UInt8]? {
        if word == "-" { return [] }
        if word.hasPrefix("text:") { return Array(word.dropFirst(5).utf8) }
        if word.hasPrefix("hex:") { return parseHex(String(word.dropFirst(4))) }
        if word.hasPrefix("pattern:") {
            let parts = word.split(separator: ":")
            guard parts.count == 3, let length = Int(parts[1]), let seed = Int(parts[2]) else { return nil }
            return (0..<length).map { UInt8((seed + $0) & 0xFF) }
        }
        return nil
    }

    /// The sparse image text: 16-byte lines with any non-zero byte, offset in 8 hex digits.
    static func formatImage(_ image: [UInt8]) -> [String] {
        var lines: [String] = []
        for offset in stride(from: 0, to: image.count, by: 16) {
            let row = image[offset..<min(offset + 16, image.count)]
            guard row.contains(where: { $0 != 0 }) else { continue }
            let hex = row.map { String(format: "%02x", $0) }
            let left = hex.prefix(8).joined(), right = hex.dropFirst(8).joined()
            lines.append(String(format: "%08x", offset) + " " + left + " " + right)
        }
        return lines
    }
}

struct VectorError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
