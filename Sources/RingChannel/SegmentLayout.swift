/// Segment layout v1: the byte offsets every SDK relies on (see docs/PROTOCOL.md).
///
/// Little-endian. Page 0 is the header; each field one side writes often sits in its own
/// 128-byte block so the producer and the supervisor never share a cache line.
public enum SegmentLayout {
    /// The bytes `RINGMSTR` read as a little-endian u64.
    public static let magic: UInt64 = 0x5254_534D_474E_4952
    /// The layout version this code speaks.
    public static let version: UInt32 = 1

    public static let magicOffset = 0               // u64
    public static let headerSizeOffset = 8          // u32 = 4096
    public static let dataOffsetOffset = 12         // u32 = 4096
    public static let capacityOffset = 16           // u64
    public static let maxRecordOffset = 24          // u32
    public static let flagsOffset = 28              // u32 = 0
    public static let generationOffset = 32         // u64
    public static let versionOffset = 40            // u32, stored last with release
    public static let tailOffset = 128              // u64, producer, store-release
    public static let headOffset = 256              // u64, supervisor, store-release
    public static let consumerSleepingOffset = 384  // u32, supervisor
    public static let producerWaitingOffset = 512   // u32, producer
    public static let producerPIDOffset = 640       // u32, advisory
    public static let recordsCommittedOffset = 648  // u64, advisory
    public static let recordsDroppedOffset = 656    // u64, advisory
    public static let lastHeartbeatOffset = 664     // u64 CLOCK_MONOTONIC ns, advisory

    /// Size of the header page, and where the data area starts.
    public static let headerSize = 4096
    /// Offset of the data area from the start of the segment.
    public static let dataOffset = 4096
    /// Smallest ring capacity.
    public static let minimumCapacity: UInt64 = 4096
    /// Record header: u32 length, u16 type, u16 flags.
    public static let recordHeaderSize: UInt64 = 8
    /// Records start on 8-byte boundaries.
    public static let recordAlignment: UInt64 = 8

    /// Bytes a record with `payloadLength` payload bytes takes in the ring (header + payload + padding).
    @inlinable
    public static func frameSize(payloadLength: UInt64) -> UInt64 {
        recordHeaderSize + ((payloadLength + 7) & ~7)
    }

    /// Total segment size for a ring of `capacity` data bytes.
    public static func segmentSize(capacity: UInt64) -> Int { dataOffset + Int(capacity) }
}

/// Record types: 0 is PAD, 1...0xEFFF are the producer's own, 0xF000...0xFFFF are reserved.
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Filler from its position to the end of the ring; never delivered.
    public static let pad = RecordType(rawValue: 0)
    /// An opaque resume token: everything before it is done.
    public static let checkpoint = RecordType(rawValue: 0xF001)
    /// The producer has finished; nothing may follow. Empty payload.
    public static let endOfStream = RecordType(rawValue: 0xF002)
    /// A log line from the producer (UTF-8 text).
    public static let logLine = RecordType(rawValue: 0xF003)
    /// A sign of life from a quiet producer. Empty payload.
    public static let heartbeat = RecordType(rawValue: 0xF004)

    /// The first type of the reserved range.
    public static let firstReserved: UInt16 = 0xF000
    /// The default type for a producer's own records. Computed and inlinable rather than a stored
    /// `static let`: it is the default argument of `reserve` and `send`, and a stored one costs a
    /// call into this module per record.
    @inlinable public static var data: RecordType { RecordType(rawValue: 1) }

    /// Whether a producer may use this type for its own records (1...0xEFFF).
    public var isUserType: Bool { rawValue != 0 && rawValue < Self.firstReserved }
    /// Whether v1 defines this reserved type.
    public var isKnownReserved: Bool { (0xF001...0xF004).contains(rawValue) }

    public var description: String {
        switch self {
        case .pad: "PAD"
        case .checkpoint: "checkpoint"
        case .endOfStream: "end-of-stream"
        case .logLine: "log-line"
        case .heartbeat: "heartbeat"
        default: "0x" + String(rawValue, radix: 16)
        }
    }
}

/// The size of a ring: data capacity and the largest record payload.
public struct RingGeometry: Hashable, Sendable, CustomStringConvertible {
    /// Data bytes in the ring: a power of two, at least 4096.
    public let capacity: UInt64
    /// Largest payload in bytes: at most `capacity / 8`.
    public let maxRecord: UInt32

    /// Validates and makes a geometry.
    public init(capacity: UInt64, maxRecord: UInt32) throws(GeometryError) {
        guard capacity >= SegmentLayout.minimumCapacity, capacity & (capacity - 1) == 0,
              capacity <= 1 << 40 else {
            throw GeometryError(message: "ring capacity must be a power of two from 4096 to 1 TiB (got \(capacity))")
        }
        guard maxRecord >= 1, UInt64(maxRecord) <= capacity / 8 else {
            throw GeometryError(message: "max record must be from 1 to capacity/8 = \(capacity / 8) (got \(maxRecord))")
        }
        self.capacity = capacity
        self.maxRecord = maxRecord
    }

    /// 4 MiB ring, 256 KiB max record: the manifest's defaults.
    public static let `default` = try! RingGeometry(capacity: 4 << 20, maxRecord: 256 << 10)

    public var description: String { "capacity \(capacity), max record \(maxRecord)" }
}

/// A ring size that breaks the layout's rules.
public struct GeometryError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
