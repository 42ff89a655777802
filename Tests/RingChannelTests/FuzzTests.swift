import Testing
import Glibc
import RingChannel

/// Random garbage and random positions in a ring: the reader must either hand out records that
/// lie wholly inside the data area or throw a `RingViolation`. A read outside the segment or a
/// trap would crash the test process.
@Suite struct FuzzTests {
    struct FuzzCase: Sendable, CustomTestStringConvertible {
        let capacity: UInt64
        let maxRecord: UInt32
        let seed: UInt64
        var testDescription: String { "capacity \(capacity), max record \(maxRecord), seed \(seed)" }
    }

    /// Types a fuzzed header draws from: PAD, user types, every reserved one v1 defines, unknown ones.
    static let interestingTypes: [UInt16] = [0, 0, 1, 2, 0x1234, 0xEFFF, 0xF000, 0xF001, 0xF002, 0xF003, 0xF004, 0xF0FF, 0xFFFF]

    @Test(arguments: [
        FuzzCase(capacity: 4096, maxRecord: 512, seed: 11),
        FuzzCase(capacity: 8192, maxRecord: 64, seed: 12),
        FuzzCase(capacity: 16384, maxRecord: 2048, seed: 13),
    ])
    func garbageNeverCrashesTheReader(run: FuzzCase) throws {
        let channel = try Channel.create(kind: .memfd, label: "fuzz", geometry: RingGeometry(capacity: run.capacity, maxRecord: run.maxRecord))
        let raw = RawSegment(channel.segment)
        let data = UnsafeRawPointer(raw.base + SegmentLayout.dataOffset)
        let dataEnd = data + Int(run.capacity)
        var rng = SeededRandom(seed: run.seed)
        var violations = 0, cleanDrains = 0, records = 0, outOfBounds = 0
        var kinds = Set<String>()

        for _ in 0..<3000 {
            channel.segment.reset(generation: 0)
            var reader = channel.makeReader()
            switch rng.below(3) {
            case 0: scribbleRandomBytes(raw, &rng)
            case 1: writePlausibleRecords(raw, maxRecord: run.maxRecord, &rng)
            default:
                try writeRecordsThenFlipBits(channel, &rng)
            }
            if rng.chance(1, in: 30) {
                // Now and then the write-once header block too.
                raw.base.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: Int(rng.below(48)), as: UInt8.self)
            }
            for _ in 0..<rng.within(1...4) {
                raw.tail = randomTail(around: reader.position, capacity: run.capacity, &rng)
                if rng.chance(1, in: 40) { raw.head = rng.next() }
                let maxBytes = rng.chance(1, in: 2) ? UInt64.max : 1 + rng.below(run.capacity)
                do {
                    var sum: UInt64 = 0
                    let summary = try reader.drain(maxBytes: maxBytes) { record in
                        records += 1
                        let start = record.payload.baseAddress!
                        if start < data || start + record.payload.count > dataEnd || record.type == .pad {
                            outOfBounds += 1
                            return
                        }
                        for byte in record.payload { sum &+= UInt64(byte) }   // touch every byte
                    }
                    cleanDrains += 1
                    #expect(summary.end % 8 == 0)
                    #expect(summary.end <= raw.tail)
                    #expect(summary.end == reader.position)
                    _ = sum
                    if rng.chance(1, in: 2) { reader.releaseAll() }
                } catch {
                    violations += 1
                    kinds.insert(error.kind.rawValue)
                    #expect(reader.violation == error)
                    #expect(throws: error) { _ = try reader.drain { _ in } }
                    break
                }
            }
        }
        #expect(outOfBounds == 0)
        #expect(violations > 100)
        #expect(cleanDrains > 100)
        #expect(records > 100)
        #expect(kinds.count >= 8, "violation kinds seen: \(kinds.sorted())")
    }

    private func scribbleRandomBytes(_ raw: RawSegment, _ rng: inout SeededRandom) {
        for offset in stride(from: 0, to: Int(raw.capacity), by: 8) {
            raw.store64(rng.next(), SegmentLayout.dataOffset + offset)
        }
    }

    /// Headers that are mostly well-formed (so the reader gets deep), with random slips.
    private func writePlausibleRecords(_ raw: RawSegment, maxRecord: UInt32, _ rng: inout SeededRandom) {
        var p: UInt64 = 0
        while p < raw.capacity {
            let toEnd = raw.capacity - p
            var type = Self.interestingTypes[Int(rng.below(UInt64(Self.interestingTypes.count)))]
            var length: UInt32
            if rng.chance(1, in: 8) { type = 0; length = UInt32(toEnd - 8) }   // a proper PAD
            else if rng.chance(1, in: 20) { length = UInt32(truncatingIfNeeded: rng.next()) }
            else if rng.chance(1, in: 10) { length = maxRecord + UInt32(rng.below(64)) }
            else { length = UInt32(rng.below(UInt64(maxRecord) + 1)) }
            if type == 0xF002 || type == 0xF004, rng.chance(3, in: 4) { length = 0 }
            let flags: UInt16 = rng.chance(1, in: 50) ? UInt16(truncatingIfNeeded: rng.next()) : 0
            raw.writeHeader(at: p, length: length, type: type, flags: flags)
            let frame = SegmentLayout.frameSize(payloadLength: UInt64(min(length, maxRecord)))
            let payloadEnd = min(p + frame, raw.capacity)
            var q = p + 8
            while q < payloadEnd {
                raw.store64(rng.next(), raw.offset(of: q))
                q += 8
            }
            p += min(frame, toEnd)
        }
    }

    private func writeRecordsThenFlipBits(_ channel: Channel, _ rng: inout SeededRandom) throws {
        let raw = RawSegment(channel.segment)
        var writer = channel.makeWriter()
        let maxRecord = UInt64(writer.maxRecordLength)
        while true {
            let length = Int(rng.below(maxRecord + 1))
            guard let buffer = try reserveIfRoom(&writer, length, type: RecordType(rawValue: UInt16(1 + rng.below(3)))) else { break }
            for index in 0..<length { buffer[index] = UInt8(truncatingIfNeeded: rng.next()) }
            try writer.commit()
        }
        for _ in 0..<rng.within(0...6) {
            let offset = SegmentLayout.dataOffset + Int(rng.below(raw.capacity))
            let byte = raw.base.load(fromByteOffset: offset, as: UInt8.self)
            raw.base.storeBytes(of: byte ^ UInt8(1) << rng.below(8), toByteOffset: offset, as: UInt8.self)
        }
    }

    /// Mostly plausible tails (aligned, within a ring of the position), sometimes anything.
    private func randomTail(around position: UInt64, capacity: UInt64, _ rng: inout SeededRandom) -> UInt64 {
        switch rng.below(8) {
        case 0: return rng.next()
        case 1: return position &+ rng.below(2 * capacity)                       // often misaligned
        case 2: return position >= 64 ? position - 8 * (1 + rng.below(8)) : 0    // backwards
        case 3: return position &+ capacity &+ 8 * (1 + rng.below(64))          // beyond capacity
        default: return position + 8 * rng.below(capacity / 8 + 1)               // aligned, in range
        }
    }
}
