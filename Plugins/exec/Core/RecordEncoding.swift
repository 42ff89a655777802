import RingmasterConsumerKit
import RingmasterRendering

/// A batch as the bytes the child reads: one contiguous buffer and where each record ends.
public struct EncodedBatch: Sendable, Equatable {
    public var bytes: [UInt8] = []
    /// `ends[i]`: the offset in `bytes` just past record `i`.
    public var ends: [Int] = []

    public init() {}

    public init(bytes: [UInt8], ends: [Int]) {
        self.bytes = bytes
        self.ends = ends
    }

    /// Records in the batch.
    public var count: Int { ends.count }
}

/// The binary framing of `format: binary` (docs/PLUGINS.md, "exec"). All integers little-endian:
///
/// ```
/// offset size
///  0     4   frame length N: the bytes after this field (header + worker name + payload)
///  4     2   header length H: the bytes from offset 4 to the end of the worker name (28 + W)
///  6     2   record type
///  8     2   format code (0 bytes, 1 text, 2 json, 3 file-entry)
/// 10     2   worker name length W
/// 12     4   instance
/// 16     8   generation
/// 24     8   sequence number
/// 32     W   worker name (UTF-8)
/// 32+W   N-H payload
/// ```
///
/// A reader skips `H - 28 - W` unknown header bytes, so later versions can add fields.
public enum BinaryFrame {
    /// Bytes of the fixed header after the length field (H without the worker name).
    public static let fixedHeaderLength = 28

    /// Appends one frame.
    public static func append(worker: UnsafeRawBufferPointer, instance: UInt32, generation: UInt64, sequence: UInt64,
                              type: UInt16, format: UInt16, payload: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let name = worker.prefix(Int(UInt16.max) - fixedHeaderLength)
        let header = fixedHeaderLength + name.count
        appendLittleEndian(UInt32(truncatingIfNeeded: header + payload.count), to: &out)
        appendLittleEndian(UInt16(header), to: &out)
        appendLittleEndian(type, to: &out)
        appendLittleEndian(format, to: &out)
        appendLittleEndian(UInt16(name.count), to: &out)
        appendLittleEndian(instance, to: &out)
        appendLittleEndian(generation, to: &out)
        appendLittleEndian(sequence, to: &out)
        out.append(contentsOf: name)
        // The ring's bytes may change under us: copy once, by the length we announced.
        out.append(contentsOf: payload)
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { out.append(contentsOf: $0) }
    }
}

/// Turns a batch into the bytes for the child, in either format.
public enum RecordEncoding {
    /// Encodes every record of `batch` (JSON Lines envelopes as the `jsonl` consumer writes them,
    /// each ending in a newline, or binary frames).
    public static func encode(_ batch: ConsumerBatch, as format: ExecFormat) -> EncodedBatch {
        var encoded = EncodedBatch()
        encoded.ends.reserveCapacity(batch.count)
        switch format {
        case .binary:
            encoded.bytes.reserveCapacity(batch.payloadBytes + batch.count * 48)
            for record in batch {
                BinaryFrame.append(worker: record.workerBytes, instance: UInt32(truncatingIfNeeded: record.instance),
                                   generation: record.generation, sequence: record.sequence, type: record.type,
                                   format: record.format.rawValue, payload: record.payload, to: &encoded.bytes)
                encoded.ends.append(encoded.bytes.count)
            }
        case .jsonl:
            var text = ""
            var prefix = ""
            var origin: (UnsafeRawPointer?, Int, UInt64) = (nil, -1, 0)
            for record in batch {
                let next = (record.workerBytes.baseAddress, record.instance, record.generation)
                if next != origin {
                    prefix = RecordRendering.jsonLinePrefix(worker: record.worker, instance: record.instance,
                                                            generation: record.generation)
                    origin = next
                }
                RecordRendering.jsonLine(prefix: prefix, sequence: record.sequence, type: record.type,
                                         payload: record.payload, format: record.format, into: &text)
                text += "\n"
                encoded.ends.append(text.utf8.count)
            }
            encoded.bytes = Array(text.utf8)
        }
        return encoded
    }
}
