import Testing
import Glibc
import RingChannel

/// One randomized in-process run: a writer and a reader interleaved on one small ring.
struct WrapCase: Sendable, CustomTestStringConvertible {
    let kind: ChannelKind
    let capacity: UInt64
    let seed: UInt64
    var testDescription: String { "\(kind), capacity \(capacity), seed \(seed)" }
}

/// A record the writer committed and the reader must deliver next.
private struct Sent {
    let type: RecordType
    let bytes: [UInt8]
}

/// What the randomized run sent, and what its reader checked so far.
private struct WrapState {
    let raw: RawSegment
    let capacity: UInt64
    var sent: [Sent] = []
    /// Index in `sent` of the next record the reader must deliver.
    var next = 0
    var pads = 0
    var mismatches = 0

    init(raw: RawSegment, capacity: UInt64) {
        self.raw = raw
        self.capacity = capacity
    }

    /// Checks that `[from, to)` is one PAD record reaching exactly the end of the ring.
    mutating func expectPad(from: UInt64, to: UInt64) {
        guard to != from else { return }
        pads += 1
        #expect(to % capacity == 0, "gap \(from)..<\(to) does not end at the ring's end")
        #expect(to - from < capacity)
        let at = raw.offset(of: from)
        #expect(UInt64(raw.load32(at)) == to - from - 8, "PAD length at \(from)")
        #expect(raw.load16(at + 4) == 0, "PAD type at \(from)")
        #expect(raw.load16(at + 6) == 0, "PAD flags at \(from)")
    }

    /// Drains up to `maxBytes` and checks every record against what was sent, in order.
    mutating func drain(_ reader: inout RingReader, maxBytes: UInt64) throws {
        var previousEnd = reader.position
        let summary = try reader.drain(maxBytes: maxBytes) { record in
            #expect(record.type != .pad)
            expectPad(from: previousEnd, to: record.position)
            let count = record.payload.count
            previousEnd = record.position + SegmentLayout.frameSize(payloadLength: UInt64(count))
            guard next < sent.count else {
                Issue.record("record at \(record.position) was never sent")
                mismatches += 1
                return
            }
            let expected = sent[next]
            next += 1
            if record.type != expected.type || !record.payload.elementsEqual(expected.bytes) {
                Issue.record("record \(next - 1) at \(record.position): type \(record.type) / \(count) bytes, expected \(expected.type) / \(expected.bytes.count)")
                mismatches += 1
            }
            // Zero padding up to the next multiple of 8.
            let padded = (count + 7) & ~7
            let padding = UnsafeRawBufferPointer(start: record.payload.baseAddress! + count, count: padded - count)
            #expect(padding.allSatisfy { $0 == 0 }, "padding of record at \(record.position)")
        }
        expectPad(from: previousEnd, to: summary.end)
        #expect(summary.end == reader.position)
    }
}

@Suite struct WrapAroundTests {
    @Test(arguments: [
        WrapCase(kind: .memfd, capacity: 4096, seed: 1),
        WrapCase(kind: .posix, capacity: 4096, seed: 2),
        WrapCase(kind: .memfd, capacity: 8192, seed: 3),
        WrapCase(kind: .posix, capacity: 16384, seed: 4),
        WrapCase(kind: .memfd, capacity: 65536, seed: 5),
    ])
    func randomSizesWrapWithPadAndArriveIntact(run: WrapCase) throws {
        let maxRecord = UInt32(run.capacity / 8)
        let channel = try Channel.create(kind: run.kind, label: "wrap", geometry: RingGeometry(capacity: run.capacity, maxRecord: maxRecord))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        var rng = SeededRandom(seed: run.seed)

        var state = WrapState(raw: raw, capacity: run.capacity)
        var timeouts = 0, aborts = 0, shortCommits = 0

        for _ in 0..<8000 {
            if rng.chance(2, in: 3) {
                let length = rng.chance(1, in: 10) ? Int(maxRecord) : Int(rng.below(UInt64(maxRecord) + 1))
                let type = RecordType(rawValue: UInt16(1 + rng.below(0xEFFF)))
                guard let buffer = try reserveIfRoom(&writer, length, type: type) else {
                    timeouts += 1
                    continue
                }
                #expect(buffer.count == length)
                for index in 0..<length { buffer[index] = UInt8(truncatingIfNeeded: rng.next()) }
                switch rng.below(10) {
                case 0:
                    writer.abort()
                    aborts += 1
                case 1:
                    let short = length == 0 ? 0 : Int(rng.below(UInt64(length)))
                    try writer.commit(length: short)
                    state.sent.append(Sent(type: type, bytes: Array(buffer.prefix(short))))
                    shortCommits += 1
                default:
                    try writer.commit()
                    state.sent.append(Sent(type: type, bytes: Array(buffer)))
                }
            } else {
                try state.drain(&reader, maxBytes: rng.chance(1, in: 2) ? .max : 1 + rng.below(run.capacity))
                if rng.chance(3, in: 4) { reader.releaseAll() }
            }
        }
        // Everything committed arrives, and nothing else.
        repeat {
            try state.drain(&reader, maxBytes: .max)
            reader.releaseAll()
        } while reader.pendingBytes > 0
        #expect(state.next == state.sent.count)
        #expect(state.mismatches == 0)
        #expect(raw.tail == reader.position)
        #expect(raw.head == reader.head)
        // The run really exercised what it is about.
        #expect(reader.position / run.capacity >= 20, "only \(reader.position / run.capacity) wraps")
        #expect(state.pads >= 10)
        #expect(timeouts >= 1)
        #expect(aborts >= 1)
        #expect(shortCommits >= 1)
    }

    @Test(arguments: ChannelKind.allCases)
    func abortLeavesNothingVisible(kind: ChannelKind) throws {
        let channel = try Channel.create(kind: kind, label: "abort", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        let buffer = try writer.reserve(100)
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5A)
        writer.abort()
        writer.publish()
        #expect(raw.tail == 0)
        #expect(reader.pendingBytes == 0)
        var count = 0
        let summary = try reader.drain { _ in count += 1 }
        #expect(count == 0)
        #expect(summary.bytes == 0)
        #expect(writer.recordsCommitted == 0)

        // The space is reused: the next record starts where the aborted one would have.
        try writer.send(bytes: [1, 2, 3])
        var records: [(UInt64, [UInt8])] = []
        _ = try reader.drain { records.append(($0.position, $0.bytes)) }
        #expect(records.map(\.0) == [0])
        #expect(records.map(\.1) == [[1, 2, 3]])
    }

    @Test func commitShorterThanReserved() throws {
        let channel = try Channel.create(kind: .memfd, label: "short", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        let buffer = try writer.reserve(300)
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        try writer.commit(length: 5)
        #expect(raw.tail == 16)   // header + 5 bytes padded to 8: the unused reservation is not kept
        try writer.send(bytes: [9])
        var records: [[UInt8]] = []
        _ = try reader.drain { records.append($0.bytes) }
        #expect(records == [[0xEE, 0xEE, 0xEE, 0xEE, 0xEE], [9]])
        #expect(raw.bytes(4096 + 13, 3) == [0, 0, 0])

        // Longer than reserved is refused, and the reservation stays open.
        _ = try writer.reserve(10)
        #expect(throws: RingWriteError.self) { try writer.commit(length: 11) }
        try writer.commit(length: 0)
        var lengths: [Int] = []
        _ = try reader.drain { lengths.append($0.payload.count) }
        #expect(lengths == [0])
    }

    @Test func reservationMisuseIsReported() throws {
        let channel = try Channel.create(kind: .memfd, label: "misuse", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        var writer = channel.makeWriter()
        #expect(throws: RingWriteError.reservationMisuse("commit without a reservation")) { try writer.commit() }
        _ = try writer.reserve(8)
        #expect(throws: RingWriteError.reservationMisuse("reserve while a reservation is open")) { _ = try writer.reserve(8) }
        writer.abort()
        _ = try writer.reserve(8)
        try writer.commit()
        #expect(writer.recordsCommitted == 1)
    }

    @Test func batchPublishesOnlyAtItsEnd() throws {
        let channel = try Channel.create(kind: .memfd, label: "batch", geometry: RingGeometry(capacity: 65536, maxRecord: 8192))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        #expect(writer.publishThreshold > 10 * 24)
        var midBatchTails: [UInt64] = []
        try writer.batch { (w) throws(RingWriteError) in
            for index in 0..<10 {
                try w.send(bytes: [UInt8](repeating: UInt8(index), count: 16))
                midBatchTails.append(raw.tail)
            }
            try w.batch { (inner) throws(RingWriteError) in
                try inner.send(bytes: [UInt8](repeating: 10, count: 16))
            }
            midBatchTails.append(raw.tail)   // an inner batch does not publish
        }
        #expect(midBatchTails == [UInt64](repeating: 0, count: 11))
        #expect(raw.tail == 11 * 24)
        #expect(reader.pendingBytes == 11 * 24)
        var firstBytes: [UInt8] = []
        _ = try reader.drain { firstBytes.append($0.payload[0]) }
        #expect(firstBytes == Array(0...10))
    }

    @Test func batchPublishesEveryThresholdBytes() throws {
        let channel = try Channel.create(kind: .memfd, label: "threshold", geometry: RingGeometry(capacity: 65536, maxRecord: 8192))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        writer.publishThreshold = 100
        var tails: [UInt64] = []
        try writer.batch { (w) throws(RingWriteError) in
            for _ in 0..<10 {
                try w.send(bytes: [UInt8](repeating: 1, count: 16))   // frame 24
                tails.append(raw.tail)
            }
        }
        #expect(tails.prefix(4).allSatisfy { $0 == 0 }, "published below the threshold: \(tails)")
        #expect(tails[4] >= 100, "not published past the threshold: \(tails)")
        #expect(raw.tail == 240)
    }

    @Test(arguments: ChannelKind.allCases)
    func batchPublishesBeforeItWouldBlock(kind: ChannelKind) throws {
        let channel = try Channel.create(kind: kind, label: "block", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        var committed = 0
        var timedOut = false
        writer.batch { (w) in
            while true {
                do {
                    try w.send(bytes: [UInt8](repeating: 3, count: 100), timeoutNanoseconds: 0)
                    committed += 1
                } catch RingWriteError.timedOut {
                    timedOut = true
                    return
                } catch {
                    Issue.record("unexpected \(error)")
                    return
                }
            }
        }
        #expect(timedOut)
        #expect(committed == 4096 / 112)
        #expect(raw.tail == UInt64(committed) * 112)
        var count = 0
        _ = try reader.drain { _ in count += 1 }
        #expect(count == committed)
    }

    @Test(arguments: ChannelKind.allCases)
    func reserveOnAFullRingTimesOut(kind: ChannelKind) throws {
        let channel = try Channel.create(kind: kind, label: "full", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        for _ in 0..<8 { try writer.send(bytes: [UInt8](repeating: 1, count: 504)) }   // 8 × 512 = full
        #expect(raw.tail == 4096)
        #expect(throws: RingWriteError.timedOut) {
            try writer.send(bytes: [2], timeoutNanoseconds: 20_000_000)
        }
        #expect(raw.load32(SegmentLayout.producerWaitingOffset) == 0)
        // Once the reader frees space, the same write goes through.
        _ = try reader.drain(maxBytes: 1) { _ in }
        reader.releaseAll()
        try writer.send(bytes: [2], timeoutNanoseconds: 20_000_000)
        #expect(raw.tail == 4096 + 16)
    }

    @Test func writerRefusesAnImpossibleHead() throws {
        let channel = try Channel.create(kind: .memfd, label: "head", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        for _ in 0..<8 { try writer.send(bytes: [UInt8](repeating: 1, count: 504)) }
        raw.head = 8192   // beyond anything published
        #expect(throws: RingWriteError.corruptHead(head: 8192, tail: 4096)) {
            try writer.send(bytes: [2], timeoutNanoseconds: 0)
        }
    }

    @Test(arguments: [0, 512, 513, 4096, Int.max, -1])
    func recordTooLarge(length: Int) throws {
        let channel = try Channel.create(kind: .memfd, label: "large", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        var writer = channel.makeWriter()
        if (0...512).contains(length) {
            _ = try writer.reserve(length)
            try writer.commit()
            #expect(writer.recordsCommitted == 1)
        } else {
            #expect(throws: RingWriteError.recordTooLarge(length: length, maxRecord: 512)) { _ = try writer.reserve(length) }
            #expect(writer.recordsCommitted == 0)
            #expect(RawSegment(channel.segment).tail == 0)
        }
    }

    @Test(arguments: [UInt16(0), 0xF000, 0xF001, 0xF002, 0xF0FF, 0xFFFF])
    func reservedTypesAreNotForProducers(type: UInt16) throws {
        let channel = try Channel.create(kind: .memfd, label: "type", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        var writer = channel.makeWriter()
        #expect(throws: RingWriteError.typeNotAllowed(type)) { _ = try writer.reserve(8, type: RecordType(rawValue: type)) }
        #expect(throws: RingWriteError.typeNotAllowed(type)) { try writer.send(type: RecordType(rawValue: type), bytes: [1]) }
        // The refused reserve left no reservation open.
        _ = try writer.reserve(8, type: RecordType(rawValue: 0xEFFF))
        try writer.commit()
        #expect(writer.recordsCommitted == 1)
    }
}
