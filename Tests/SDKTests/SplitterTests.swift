import PipeSplitter
import Testing

/// ringmaster-pipe's splitter alone: the records it cuts from windows of input, whatever the
/// reads' boundaries, and its long-item policies.
@Suite struct SplitterTests {
    /// Feeds `input` in windows of `readSize` bytes as ringmaster-pipe does (unconsumed bytes stay
    /// at the window's start) and returns the records, or where it stopped with `tooLong`.
    static func split(_ input: String, framing: Framing = .delimited(0x0A), maxRecord: Int = 16, policy: LongItemPolicy = .split,
                      keepDelimiter: Bool = false, readSize: Int = 3) -> (records: [String], tooLong: UInt64?) {
        var splitter = Splitter(framing: framing, maxRecord: maxRecord, policy: policy, keepDelimiter: keepDelimiter)
        let bytes = Array(input.utf8)
        var window: [UInt8] = []
        var offset = 0
        var records: [String] = []
        while true {
            let atEnd = offset >= bytes.count
            let step = window.withUnsafeBytes { splitter.next($0, atEnd: atEnd) }
            switch step {
            case .record(let length, let consumed, _):
                records.append(String(decoding: window[..<length], as: UTF8.self))
                window.removeFirst(consumed)
            case .drop(let consumed):
                window.removeFirst(consumed)
            case .exhausted:
                if atEnd { return (records, nil) }
                let end = min(bytes.count, offset + readSize)
                window += bytes[offset..<end]
                offset = end
            case .tooLong(let item):
                return (records, item)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func linesArriveWholeWhateverTheReads(_ readSize: Int) {
        let result = Self.split("one\ntwo\r\n\nlast", readSize: readSize)
        #expect(result.records == ["one", "two\r", "", "last"], "read size \(readSize)")
    }

    @Test func delimitersCanBeKeptAndNULItemsSplit() {
        #expect(Self.split("a\nbc\n", keepDelimiter: true).records == ["a\n", "bc\n"])
        #expect(Self.split("x\u{0}yz\u{0}", framing: .delimited(0)).records == ["x", "yz"])
    }

    @Test func chunksAreFixedSizeWithAShorterLast() {
        #expect(Self.split("abcdefghij", framing: .chunks(4)).records == ["abcd", "efgh", "ij"])
        #expect(Self.split("", framing: .chunks(4)).records == [])
    }

    @Test func longItemsAreSplitTruncatedOrRefused() {
        let long = String(repeating: "x", count: 20) + "\nshort\n"
        #expect(Self.split(long, maxRecord: 8, policy: .split).records == ["xxxxxxxx", "xxxxxxxx", "xxxx", "short"])
        #expect(Self.split(long, maxRecord: 8, policy: .truncate).records == ["xxxxxxxx", "short"])
        let refused = Self.split("ok\n" + long, maxRecord: 8, policy: .fail)
        #expect(refused.records == ["ok"] && refused.tooLong == 2, "stops at the second item: \(refused)")
    }

    @Test func aKeptDelimiterCountsTowardMaxRecord() {
        // 8 bytes of text and its newline do not fit 8: split keeps every byte, in order.
        let records = Self.split("abcdefgh\n", maxRecord: 8, keepDelimiter: true).records
        #expect(records.joined() == "abcdefgh\n" && records.allSatisfy { $0.utf8.count <= 8 }, "\(records)")
    }
}
