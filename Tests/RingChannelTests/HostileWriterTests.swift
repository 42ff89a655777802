import Testing
import Glibc
import RingChannel

/// A way a hostile (or broken) producer can corrupt its ring, applied by writing straight into
/// the shared memory, after or instead of legitimate writes through a `RingWriter`.
///
/// The ring in every case: capacity 4096 (data at segment offset 0x1000), max record 512.
enum Corruption: String, CaseIterable, Sendable {
    case tailBehindHead, tailBeyondCapacity, tailMisaligned
    case lengthOverMaxRecord, lengthPastTail, recordCrossesEnd
    case padNotAtEnd, padPastTail
    case unknownReservedType, endOfStreamWithPayload, heartbeatWithPayload, recordAfterEndOfStream, padAfterEndOfStream
    case flagsSet
    case magicChanged, versionChanged, capacityChanged, maxRecordChanged, generationChanged
    case headerSizeChanged, dataOffsetChanged, headerFlagsChanged
    case headMoved, tailMovedBackwards

    /// The violation the reader must report: rule, field and segment offset.
    var expected: (kind: RingViolation.Kind, field: String, offset: UInt64) {
        switch self {
        case .tailBehindHead: (.tailBehindHead, "tail", 0x80)
        case .tailBeyondCapacity: (.tailBeyondCapacity, "tail", 0x80)
        case .tailMisaligned: (.tailMisaligned, "tail", 0x80)
        case .lengthOverMaxRecord: (.lengthTooLarge, "length", 0x1000)
        case .lengthPastTail: (.recordPastTail, "length", 0x1000)
        case .recordCrossesEnd: (.recordCrossesEnd, "length", 0x1000 + 4032)
        case .padNotAtEnd: (.padNotAtEnd, "length", 0x1000)
        case .padPastTail: (.recordPastTail, "length", 0x1000 + 4032)
        case .unknownReservedType: (.reservedType, "type", 0x1004)
        case .endOfStreamWithPayload: (.reservedType, "length", 0x1000)
        case .heartbeatWithPayload: (.reservedType, "length", 0x1000)
        case .recordAfterEndOfStream: (.afterEndOfStream, "type", 0x1008 + 4)
        case .padAfterEndOfStream: (.afterEndOfStream, "type", 0x1008 + 4)
        case .flagsSet: (.flagsSet, "flags", 0x1006)
        case .magicChanged: (.headerChanged, "magic", 0x0)
        case .versionChanged: (.headerChanged, "version", 0x28)
        case .capacityChanged: (.headerChanged, "capacity", 0x10)
        case .maxRecordChanged: (.headerChanged, "max record", 0x18)
        case .generationChanged: (.headerChanged, "generation", 0x20)
        case .headerSizeChanged: (.headerChanged, "header size", 0x8)
        case .dataOffsetChanged: (.headerChanged, "data offset", 0xC)
        case .headerFlagsChanged: (.headerChanged, "flags", 0x1C)
        case .headMoved: (.headMoved, "head", 0x100)
        case .tailMovedBackwards: (.tailMovedBack, "tail", 0x80)
        }
    }

    /// Legitimate records delivered before the violation.
    var recordsBeforeViolation: Int {
        switch self {
        case .recordCrossesEnd, .padPastTail: 8
        case .recordAfterEndOfStream, .padAfterEndOfStream: 1
        default: 0
        }
    }

    /// Writes and reads what the case needs, then corrupts the ring; returns the reader whose
    /// next drain must fail.
    func provoke(_ channel: Channel) throws -> RingReader {
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        let raw = RawSegment(channel.segment)
        let sixteen = [UInt8](repeating: 0x42, count: 16)   // frame 24
        func fillTo4032() throws {
            for _ in 0..<8 { try writer.send(bytes: [UInt8](repeating: 0x17, count: 496)) }   // 8 frames of 504
        }
        switch self {
        case .tailBehindHead:
            try writer.send(bytes: sixteen)
            try writer.send(bytes: sixteen)
            reader.release(through: try reader.drain { _ in }.end)   // head 48
            raw.tail = 24
        case .tailBeyondCapacity:
            try writer.send(bytes: sixteen)
            raw.tail = 4096 + 64
        case .tailMisaligned:
            try writer.send(bytes: sixteen)
            raw.tail = 20
        case .lengthOverMaxRecord:
            raw.writeHeader(at: 0, length: 9_000_000, type: 1)
            raw.tail = 64
        case .lengthPastTail:
            raw.writeHeader(at: 0, length: 100, type: 1)   // frame 112
            raw.tail = 64
        case .recordCrossesEnd:
            try fillTo4032()
            raw.writeHeader(at: 4032, length: 100, type: 1)   // 64 bytes left before the end
            raw.tail = 4096
        case .padNotAtEnd:
            raw.writeHeader(at: 0, length: 8, type: 0)
            raw.tail = 16
        case .padPastTail:
            try fillTo4032()
            raw.writeHeader(at: 4032, length: 56, type: 0)   // reaches the end, but tail stops short
            raw.tail = 4040
        case .unknownReservedType:
            raw.writeHeader(at: 0, length: 0, type: 0xF0FF)
            raw.tail = 8
        case .endOfStreamWithPayload:
            raw.writeHeader(at: 0, length: 8, type: RecordType.endOfStream.rawValue)
            raw.tail = 16
        case .heartbeatWithPayload:
            raw.writeHeader(at: 0, length: 4, type: RecordType.heartbeat.rawValue)
            raw.tail = 16
        case .recordAfterEndOfStream:
            try writer.sendReserved(.endOfStream, bytes: [])
            try writer.send(bytes: [1])
        case .padAfterEndOfStream:
            // End-of-stream at 0, then a PAD from 8 to the end of the ring.
            try writer.sendReserved(.endOfStream, bytes: [])
            raw.writeHeader(at: 8, length: 4096 - 16, type: 0)
            raw.tail = 4096
        case .flagsSet:
            try writer.send(bytes: sixteen)
            raw.store16(0x0001, 0x1006)
        case .magicChanged:
            try writer.send(bytes: sixteen)
            raw.store64(0x4B43_4148_4B43_4148, SegmentLayout.magicOffset)
        case .versionChanged:
            try writer.send(bytes: sixteen)
            raw.store32(2, SegmentLayout.versionOffset)
        case .capacityChanged:
            try writer.send(bytes: sixteen)
            raw.store64(1 << 30, SegmentLayout.capacityOffset)
        case .maxRecordChanged:
            try writer.send(bytes: sixteen)
            raw.store32(4096, SegmentLayout.maxRecordOffset)
        case .generationChanged:
            try writer.send(bytes: sixteen)
            raw.store64(99, SegmentLayout.generationOffset)
        case .headerSizeChanged:
            try writer.send(bytes: sixteen)
            raw.store32(8192, SegmentLayout.headerSizeOffset)
        case .dataOffsetChanged:
            try writer.send(bytes: sixteen)
            raw.store32(0, SegmentLayout.dataOffsetOffset)
        case .headerFlagsChanged:
            try writer.send(bytes: sixteen)
            raw.store32(1, SegmentLayout.flagsOffset)
        case .headMoved:
            try writer.send(bytes: sixteen)
            raw.head = 24
        case .tailMovedBackwards:
            try writer.send(bytes: sixteen)
            try writer.send(bytes: sixteen)
            _ = try reader.drain { _ in }   // read up to 48, not released
            raw.tail = 24
        }
        return reader
    }
}

@Suite struct HostileWriterTests {
    static let ringGeometry = try! RingGeometry(capacity: 4096, maxRecord: 512)

    @Test(arguments: Corruption.allCases)
    func corruptionIsReportedWithFieldAndOffset(corruption: Corruption) throws {
        let channel = try Channel.create(kind: .memfd, label: "hostile", geometry: Self.ringGeometry)
        var reader = try corruption.provoke(channel)
        let expected = corruption.expected
        var delivered = 0
        var caught: RingViolation?
        do {
            _ = try reader.drain { _ in delivered += 1 }
            Issue.record("drain accepted a corrupt ring (\(corruption))")
        } catch {
            caught = error
        }
        let violation = try #require(caught)
        #expect(violation.kind == expected.kind)
        #expect(violation.field == expected.field)
        #expect(violation.segmentOffset == expected.offset)
        let place = expected.kind == .headerChanged || expected.kind == .headMoved || expected.kind.rawValue.hasPrefix("tail") ? "header" : "record"
        #expect(violation.description.hasPrefix("\(place) at 0x\(String(expected.offset, radix: 16)): "),
                "\(violation.description)")
        #expect(delivered == corruption.recordsBeforeViolation)
        #expect(reader.violation == violation)

        // Poisoned: the reader keeps throwing the same violation and hands out nothing more,
        // even once the segment looks sane again.
        var later = 0
        #expect(throws: violation) { _ = try reader.drain { _ in later += 1 } }
        channel.segment.reset(generation: 0)
        #expect(throws: violation) { _ = try reader.drain { _ in later += 1 } }
        #expect(later == 0)
    }

    @Test func violationDescriptionNamesOffsetAndValues() throws {
        let channel = try Channel.create(kind: .memfd, label: "hostile", geometry: Self.ringGeometry)
        var reader = try Corruption.lengthOverMaxRecord.provoke(channel)
        #expect(throws: RingViolation.self) { _ = try reader.drain { _ in } }
        let seen = reader.violation
        let violation = try #require(seen)
        #expect(violation.description == "record at 0x1000: length 9000000 exceeds max record 512")
        #expect(violation.position == 0)

        let second = try Channel.create(kind: .memfd, label: "hostile", geometry: Self.ringGeometry)
        var magicReader = try Corruption.magicChanged.provoke(second)
        #expect(throws: RingViolation.self) { _ = try magicReader.drain { _ in } }
        let magicViolation = magicReader.violation
        let text = try #require(magicViolation).description
        #expect(text.hasPrefix("header at 0x0: magic changed after creation"), "\(text)")
        #expect(text.contains("0x4b434148"), "\(text)")
    }

    @Test func violationInALaterRecordKeepsEarlierOnesDelivered() throws {
        let channel = try Channel.create(kind: .memfd, label: "hostile", geometry: Self.ringGeometry)
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        for index in 0..<3 { try writer.send(bytes: [UInt8](repeating: UInt8(index), count: 8)) }   // frames of 16
        raw.writeHeader(at: 48, length: 600, type: 1)
        raw.tail = 48 + 8 + 600
        var firstBytes: [UInt8] = []
        #expect(throws: RingViolation.self) { _ = try reader.drain { firstBytes.append($0.payload[0]) } }
        #expect(firstBytes == [0, 1, 2])
        let seen = reader.violation
        let violation = try #require(seen)
        #expect(violation.kind == .lengthTooLarge)
        #expect(violation.segmentOffset == UInt64(0x1000 + 48))
        #expect(violation.position == 48)
    }
}
