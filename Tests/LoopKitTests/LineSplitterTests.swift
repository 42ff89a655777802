import LoopKit
import Testing

/// One row of the splitter table: bytes in, lines out, for a given limit.
struct SplitCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let maxLineLength: Int
    let expected: [String]

    init(_ name: String, _ input: [UInt8], max: Int = 16384, _ expected: [String]) {
        self.name = name
        self.input = input
        self.maxLineLength = max
        self.expected = expected
    }

    init(_ name: String, _ text: String, max: Int = 16384, _ expected: [String]) {
        self.init(name, Array(text.utf8), max: max, expected)
    }

    var testDescription: String { name }
}

/// Feeds `input` in pieces of `chunkSize` bytes (the whole at once when nil), then finishes.
func split(_ input: [UInt8], maxLineLength: Int, chunkSize: Int?) -> (lines: [String], maxPending: Int) {
    var splitter = LineSplitter(maxLineLength: maxLineLength)
    var lines: [String] = []
    var maxPending = 0
    let step = chunkSize ?? max(input.count, 1)
    var start = 0
    while start < input.count {
        let end = min(start + step, input.count)
        input[start..<end].withUnsafeBytes { splitter.feed($0) { lines.append($0) } }
        maxPending = max(maxPending, splitter.pendingByteCount)
        start = end
    }
    splitter.finish { lines.append($0) }
    #expect(splitter.pendingByteCount == 0)
    return (lines, maxPending)
}

@Suite struct LineSplitterTests {
    static let cases: [SplitCase] = [
        SplitCase("plain lines", "one\ntwo\n", ["one", "two"]),
        SplitCase("CRLF endings", "one\r\ntwo\r\n", ["one", "two"]),
        SplitCase("no trailing newline", "one\ntail", ["one", "tail"]),
        SplitCase("empty lines", "\n\n\nx\n", ["", "", "", "x"]),
        SplitCase("empty input", "", []),
        SplitCase("only CRLF", "\r\n", [""]),
        SplitCase("lone CR stays", "a\rb\n", ["a\rb"]),
        SplitCase("CR CR LF keeps one CR", "a\r\r\n", ["a\r"]),
        SplitCase("trailing CR at EOF stays", "a\r", ["a\r"]),
        SplitCase("long line in pieces", "abcdefghij\n", max: 4, ["abcd", "efgh", "ij"]),
        SplitCase("exact length", "abcd\nefgh\n", max: 4, ["abcd", "efgh"]),
        SplitCase("exact length with CRLF", "abcd\r\n", max: 4, ["abcd"]),
        SplitCase("twice the length", "abcdefgh\n", max: 4, ["abcd", "efgh"]),
        SplitCase("long partial line", "abcdefghij", max: 4, ["abcd", "efgh", "ij"]),
        SplitCase("invalid UTF-8 repaired", [0x61, 0xFF, 0x62, 0x0A], ["a\u{FFFD}b"]),
        SplitCase("truncated sequence at EOF", [0x61, 0xE2, 0x82], ["a\u{FFFD}"]),
        SplitCase("cut keeps a character whole", "abcé\n", max: 4, ["abc", "é"]),
        SplitCase("cut keeps a 4-byte character whole", "ab😀cd\n", max: 4, ["ab", "😀", "cd"]),
        SplitCase("unicode lines", "grüße\n日本\n", ["grüße", "日本"]),
    ]

    @Test(arguments: cases)
    func splitsTheSameWhateverTheChunking(_ row: SplitCase) {
        for chunkSize in [nil, 1, 2, 3, 7] {
            let result = split(row.input, maxLineLength: row.maxLineLength, chunkSize: chunkSize)
            #expect(result.lines == row.expected, "chunk size \(chunkSize.map(String.init) ?? "all")")
        }
    }

    @Test func floodWithoutNewlineIsChunkedAndBounded() {
        let input = [UInt8](repeating: UInt8(ascii: "x"), count: 100 * 1024)
        for chunkSize in [nil, 4096, 65536] {
            let result = split(input, maxLineLength: 16384, chunkSize: chunkSize)
            #expect(result.lines.map(\.utf8.count) == Array(repeating: 16384, count: 6) + [4096])
            #expect(result.maxPending <= 16384)
            #expect(result.lines.allSatisfy { $0.allSatisfy { $0 == "x" } })
        }
    }

    @Test func piecesNeverExceedTheLimit() {
        // Mixed multi-byte text without newlines, cut at every possible limit.
        let input = Array(String(repeating: "aé😀日", count: 200).utf8)
        for limit in 4...12 {
            let result = split(input, maxLineLength: limit, chunkSize: 5)
            #expect(result.lines.allSatisfy { $0.utf8.count <= limit })
            #expect(result.lines.joined() == String(decoding: input, as: UTF8.self), "limit \(limit)")
        }
    }

    @Test func finishWithNothingPendingEmitsNothing() {
        var splitter = LineSplitter()
        var lines: [String] = []
        "done\n".utf8.withContiguousStorageIfAvailable { splitter.feed(UnsafeRawBufferPointer($0)) { lines.append($0) } }
        splitter.finish { lines.append($0) }
        splitter.finish { lines.append($0) }
        #expect(lines == ["done"])
    }
}
