import Testing
import Glibc
import RingChannel
import RingmasterProducer

/// One row of DESIGN.md's "Segment layout v1" table.
struct FieldOffset: Sendable, CustomTestStringConvertible {
    let name: String
    let constant: Int
    let documented: Int
    var testDescription: String { "\(name) at \(documented)" }
}

@Suite struct LayoutTests {
    static let table: [FieldOffset] = [
        FieldOffset(name: "magic", constant: SegmentLayout.magicOffset, documented: 0),
        FieldOffset(name: "header size", constant: SegmentLayout.headerSizeOffset, documented: 8),
        FieldOffset(name: "data offset", constant: SegmentLayout.dataOffsetOffset, documented: 12),
        FieldOffset(name: "capacity", constant: SegmentLayout.capacityOffset, documented: 16),
        FieldOffset(name: "max record", constant: SegmentLayout.maxRecordOffset, documented: 24),
        FieldOffset(name: "flags", constant: SegmentLayout.flagsOffset, documented: 28),
        FieldOffset(name: "generation", constant: SegmentLayout.generationOffset, documented: 32),
        FieldOffset(name: "version", constant: SegmentLayout.versionOffset, documented: 40),
        FieldOffset(name: "tail", constant: SegmentLayout.tailOffset, documented: 128),
        FieldOffset(name: "head", constant: SegmentLayout.headOffset, documented: 256),
        FieldOffset(name: "consumer_sleeping", constant: SegmentLayout.consumerSleepingOffset, documented: 384),
        FieldOffset(name: "producer_waiting", constant: SegmentLayout.producerWaitingOffset, documented: 512),
        FieldOffset(name: "producer pid", constant: SegmentLayout.producerPIDOffset, documented: 640),
        FieldOffset(name: "records committed", constant: SegmentLayout.recordsCommittedOffset, documented: 648),
        FieldOffset(name: "records dropped", constant: SegmentLayout.recordsDroppedOffset, documented: 656),
        FieldOffset(name: "last heartbeat", constant: SegmentLayout.lastHeartbeatOffset, documented: 664),
        FieldOffset(name: "header size (bytes)", constant: SegmentLayout.headerSize, documented: 4096),
        FieldOffset(name: "data area", constant: SegmentLayout.dataOffset, documented: 4096),
    ]

    @Test(arguments: table)
    func offsetConstantMatchesTheDesignTable(field: FieldOffset) {
        #expect(field.constant == field.documented)
    }

    @Test func recordFramingConstants() {
        #expect(SegmentLayout.version == 1)
        #expect(SegmentLayout.recordHeaderSize == 8)
        #expect(SegmentLayout.recordAlignment == 8)
        #expect(SegmentLayout.minimumCapacity == 4096)
        #expect(SegmentLayout.frameSize(payloadLength: 0) == 8)
        #expect(SegmentLayout.frameSize(payloadLength: 1) == 16)
        #expect(SegmentLayout.frameSize(payloadLength: 8) == 16)
        #expect(SegmentLayout.frameSize(payloadLength: 9) == 24)
        #expect(SegmentLayout.segmentSize(capacity: 8192) == 4096 + 8192)
        #expect(RecordType.pad.rawValue == 0)
        #expect(RecordType.checkpoint.rawValue == 0xF001)
        #expect(RecordType.endOfStream.rawValue == 0xF002)
        #expect(RecordType.logLine.rawValue == 0xF003)
        #expect(RecordType.heartbeat.rawValue == 0xF004)
    }

    @Test func magicIsTheBytesRINGMSTR() {
        withUnsafeBytes(of: SegmentLayout.magic.littleEndian) { raw in
            #expect(Array(raw) == Array("RINGMSTR".utf8))
        }
    }

    @Test(arguments: ChannelKind.allCases)
    func freshSegmentHeaderBytes(kind: ChannelKind) throws {
        let geometry = try RingGeometry(capacity: 8192, maxRecord: 1000)
        let channel = try Channel.create(kind: kind, label: "layout", geometry: geometry, generation: 7)
        let raw = RawSegment(channel.segment)
        #expect(channel.segment.region.size == 4096 + 8192)
        #expect(try channel.segment.descriptor.size() == 4096 + 8192)

        #expect(raw.bytes(0, 8) == Array("RINGMSTR".utf8))
        #expect(raw.bytes(8, 4) == [0x00, 0x10, 0x00, 0x00])   // 4096 LE
        #expect(raw.bytes(12, 4) == [0x00, 0x10, 0x00, 0x00])
        #expect(raw.bytes(16, 8) == [0x00, 0x20, 0, 0, 0, 0, 0, 0]) // 8192 LE
        #expect(raw.bytes(24, 4) == [0xE8, 0x03, 0x00, 0x00])  // 1000 LE
        #expect(raw.load32(28) == 0)
        #expect(raw.bytes(32, 8) == [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(raw.bytes(40, 4) == [1, 0, 0, 0])
        #expect(raw.load64(128) == 0)
        #expect(raw.load64(256) == 0)
        #expect(raw.load32(384) == 0)
        #expect(raw.load32(512) == 0)
        #expect(raw.bytes(640, 32) == [UInt8](repeating: 0, count: 32))
        #expect(channel.segment.generation == 7)

        // Every other header byte is zero: a field written at a wrong offset would show here.
        let fields: [(Int, Int)] = [(0, 8), (8, 4), (12, 4), (16, 8), (24, 4), (32, 8), (40, 4)]
        var stray: [Int] = []
        for offset in 0..<4096 where !fields.contains(where: { offset >= $0.0 && offset < $0.0 + $0.1 }) {
            if raw.bytes(offset, 1)[0] != 0 { stray.append(offset) }
        }
        #expect(stray.isEmpty, "non-zero header bytes at \(stray)")
    }

    @Test(arguments: ChannelKind.allCases)
    func recordBytesAndPositionsAfterWrites(kind: ChannelKind) throws {
        let geometry = try RingGeometry(capacity: 8192, maxRecord: 1000)
        let channel = try Channel.create(kind: kind, label: "layout", geometry: geometry)
        let raw = RawSegment(channel.segment)
        // Scribble on the data area first so the zero padding is something the writer wrote.
        memset(raw.base + 4096, 0xAA, 8192)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()

        try writer.send(type: RecordType(rawValue: 0x1234), bytes: [1, 2, 3, 4, 5])
        #expect(raw.load64(128) == 16)
        #expect(raw.bytes(4096, 17) == [5, 0, 0, 0, 0x34, 0x12, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 0xAA])
        #expect(raw.load64(648) == 1)   // records committed (advisory)

        try writer.send(bytes: Array(10...17))
        #expect(raw.load64(128) == 32)
        #expect(raw.bytes(4112, 16) == [8, 0, 0, 0, 1, 0, 0, 0, 10, 11, 12, 13, 14, 15, 16, 17])
        #expect(raw.load64(648) == 2)
        #expect(raw.load64(656) == 0)   // records dropped: the writer never drops

        var seen: [(UInt64, UInt16, [UInt8])] = []
        let summary = try reader.drain { seen.append(($0.position, $0.type.rawValue, $0.bytes)) }
        #expect(seen.map(\.0) == [0, 16])
        #expect(seen.map(\.1) == [0x1234, 1])
        #expect(seen.map(\.2) == [[1, 2, 3, 4, 5], Array(10...17)])
        #expect(summary.end == 32)
        #expect(raw.load64(256) == 0)   // nothing released yet
        reader.release(through: summary.end)
        #expect(raw.load64(256) == 32)

        #expect(reader.prepareToSleep() == false)
        #expect(raw.load32(384) == 1)
        reader.markAwake()
        #expect(raw.load32(384) == 0)

        writer.announce(pid: 4242)
        #expect(raw.load32(640) == 4242)
        #expect(channel.segment.producerPID == 4242)
        writer.stampHeartbeat()
        #expect(raw.load64(664) != 0)
        #expect(channel.segment.lastHeartbeat == raw.load64(664))
        #expect(channel.segment.recordsCommitted == 2)
    }

    @Test func padFillsToTheEndAndTheNextRecordStartsAtZero() throws {
        let channel = try Channel.create(kind: .memfd, label: "pad", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        // 7 frames of 504 bytes and one of 472 end at 4000: 96 bytes left before the end.
        for _ in 0..<7 { try writer.send(bytes: [UInt8](repeating: 7, count: 496)) }
        try writer.send(bytes: [UInt8](repeating: 7, count: 464))
        #expect(raw.tail == 4000)
        var count = 0
        reader.release(through: try reader.drain { _ in count += 1 }.end)
        #expect(count == 8)

        try writer.send(bytes: [UInt8](repeating: 9, count: 200))   // frame 208 > 96
        #expect(raw.tail == 4096 + 208)
        #expect(raw.bytes(4096 + 4000, 8) == [88, 0, 0, 0, 0, 0, 0, 0])   // PAD: length 96 - 8, type 0
        #expect(raw.bytes(4096, 8) == [200, 0, 0, 0, 1, 0, 0, 0])
        var positions: [UInt64] = []
        var types: [RecordType] = []
        let summary = try reader.drain { record in
            positions.append(record.position)
            types.append(record.type)
        }
        #expect(positions == [4096])
        #expect(types == [.data])
        #expect(summary.records == 1)
        #expect(summary.bytes == 96 + 208)
        #expect(summary.end == 4096 + 208)
    }

    @Test func producerAnnouncesItsPidWhenAttaching() throws {
        let channel = try Channel.create(kind: .memfd, label: "pid", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let environment = try inProcessEnvironment(for: channel)
        var producer = try Producer.attach(environment: environment.variables)
        #expect(RawSegment(channel.segment).load32(640) == UInt32(getpid()))
        try producer.send(bytes: [1, 2, 3])
        var reader = channel.makeReader()
        var payloads: [[UInt8]] = []
        _ = try reader.drain { payloads.append($0.bytes) }
        #expect(payloads == [[1, 2, 3]])
    }
}
