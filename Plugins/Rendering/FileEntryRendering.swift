import SystemKit
import CShim

/// Decodes and renders `file-entry` payloads, the walker's records (docs/PROTOCOL.md §13):
/// a 64-byte little-endian header, then the path's raw bytes.
///
/// Payload bytes are untrusted and may change under the reader: each field is loaded once,
/// the path length is checked against the payload's own length, the path is copied once, and a
/// payload that is not a well-formed record is rendered as an error object, never a trap.
public enum FileEntryRendering {
    /// Bytes before the path.
    public static let headerSize = 64

    /// One decoded record.
    public struct Record: Equatable, Sendable {
        /// 1 entry, 2 error.
        public var kind: UInt8
        public var type: UInt8
        /// In an error record, the step that failed (1 stat, 2 open, 3 read, 4 loop, 5 record).
        public var operation: UInt8
        public var flags: UInt8
        public var errno: Int32
        public var size: UInt64
        public var mtimeNanoseconds: Int64
        public var inode: UInt64
        public var device: UInt64
        public var links: UInt64
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        /// The path's raw bytes (need not be UTF-8).
        public var path: [UInt8]

        /// Whether size, mode, uid, gid, mtime, device and link count are filled in.
        public var hasStatus: Bool { flags & 1 != 0 }
        /// Whether the path was cut to fit the ring's max record.
        public var pathTruncated: Bool { flags & 2 != 0 }
        public var isError: Bool { kind == 2 }
    }

    /// Decodes `payload`, or says why it is not a `file-entry` record.
    public static func decode(_ payload: UnsafeRawBufferPointer) -> Result<Record, MalformedFileEntry> {
        let count = payload.count
        guard count >= headerSize else { return .failure(MalformedFileEntry("payload of \(count) bytes is shorter than the \(headerSize)-byte header")) }
        func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        let kind = payload[0]
        guard kind == 1 || kind == 2 else { return .failure(MalformedFileEntry("kind \(kind) is neither 1 (entry) nor 2 (error)")) }
        let pathLength = Int(u32(60))
        guard pathLength <= count - headerSize else {
            return .failure(MalformedFileEntry("path length \(pathLength) runs past the payload of \(count) bytes"))
        }
        return .success(Record(kind: kind, type: payload[1], operation: payload[2], flags: payload[3],
                               errno: Int32(bitPattern: u32(4)), size: u64(8), mtimeNanoseconds: Int64(bitPattern: u64(16)),
                               inode: u64(24), device: u64(32), links: u64(40), mode: u32(48), uid: u32(52), gid: u32(56),
                               path: Array(UnsafeRawBufferPointer(rebasing: payload[headerSize..<(headerSize + pathLength)]))))
    }

    /// Appends the record as one JSON object:
    /// `{"path":"/usr/lib","type":"dir","size":4096,"mode":"0755","uid":0,"gid":0,"mtime_ns":…,"inode":…,"device":…,"nlink":…}`,
    /// `{"path":"/root","error":"EACCES","errno":13,"op":"open"}` for an error, with `"path_b64"`
    /// beside `"path"` when the path is not valid UTF-8, and
    /// `{"error":"malformed","detail":…,"payload_b64":…}` for a payload that is not a record.
    public static func appendJSON(_ payload: UnsafeRawBufferPointer, into out: inout String) {
        let record: Record
        switch decode(payload) {
        case .success(let decoded): record = decoded
        case .failure(let malformed):
            out += "{\"error\":\"malformed\",\"detail\":"
            RecordRendering.appendJSONString("file-entry " + malformed.detail, to: &out)
            out += ",\"payload_b64\":\""
            out += Base64.encode(payload)
            out += "\"}"
            return
        }
        out += "{\"path\":"
        record.path.withUnsafeBytes { bytes in
            if isValidUTF8(bytes) {
                appendJSONString(utf8: bytes, to: &out)
            } else {
                RecordRendering.appendJSONString(RecordRendering.escapingInvalidUTF8(bytes), to: &out)
                out += ",\"path_b64\":\""
                out += Base64.encode(bytes)
                out += "\""
            }
        }
        if record.pathTruncated { out += ",\"path_truncated\":true" }
        if record.isError {
            out += ",\"error\":"
            RecordRendering.appendJSONString(errnoName(record.errno), to: &out)
            out += ",\"errno\":\(record.errno),\"op\":\"\(operationName(record.operation))\""
            if record.type != 0 { out += ",\"type\":\"\(typeName(record.type))\"" }
            out += "}"
            return
        }
        out += ",\"type\":\"\(typeName(record.type))\""
        if record.hasStatus {
            out += ",\"size\":\(record.size),\"mode\":\"\(octalMode(record.mode))\",\"uid\":\(record.uid),\"gid\":\(record.gid)"
            out += ",\"mtime_ns\":\(record.mtimeNanoseconds),\"inode\":\(record.inode),\"device\":\(record.device),\"nlink\":\(record.links)}"
        } else {
            out += ",\"inode\":\(record.inode)}"
        }
    }

    /// One readable line: `dir 4096 /usr/lib`, `file - /x` without status, `error EACCES open /root`.
    public static func readable(_ payload: UnsafeRawBufferPointer) -> String {
        switch decode(payload) {
        case .failure(let malformed):
            return "malformed file-entry: \(malformed.detail)"
        case .success(let record):
            let path = record.path.withUnsafeBytes { RecordRendering.readable($0, format: .text) }
            if record.isError { return "error \(errnoName(record.errno)) \(operationName(record.operation)) \(path)" }
            return "\(typeName(record.type)) \(record.hasStatus ? String(record.size) : "-") \(path)"
        }
    }

    /// The word for a type code: file, dir, symlink, block, char, fifo, socket, unknown.
    public static func typeName(_ code: UInt8) -> String {
        switch code {
        case 1: "file"
        case 2: "dir"
        case 3: "symlink"
        case 4: "block"
        case 5: "char"
        case 6: "fifo"
        case 7: "socket"
        default: "unknown"
        }
    }

    /// The word for an error record's operation code.
    public static func operationName(_ code: UInt8) -> String {
        switch code {
        case 1: "stat"
        case 2: "open"
        case 3: "read"
        case 4: "loop"
        case 5: "record"
        default: "unknown"
        }
    }

    /// `EACCES` for 13; `errno <n>` for a value this C library has no name for.
    public static func errnoName(_ code: Int32) -> String {
        guard code > 0, let name = cshim_errno_name(code) else { return "errno \(code)" }
        return String(cString: name)
    }

    /// The permission and special bits (`mode & 07777`) as four octal digits, e.g. `0755`.
    static func octalMode(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `RecordRendering.appendJSONString` for bytes known to be valid UTF-8, byte by byte: the
    /// same escapes, without a trip through `String` per scalar (paths can be long and many).
    static func appendJSONString(utf8 bytes: UnsafeRawBufferPointer, to out: inout String) {
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        var escaped: [UInt8] = []
        escaped.reserveCapacity(bytes.count + 2)
        escaped.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): escaped += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): escaped += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: escaped += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: escaped += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: escaped += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: escaped += Array("\\u00".utf8) + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            default: escaped.append(byte)
            }
        }
        escaped.append(UInt8(ascii: "\""))
        out += String(decoding: escaped, as: UTF8.self)
    }

    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

/// Why a payload is not a `file-entry` record.
public struct MalformedFileEntry: Error, Equatable, Sendable {
    /// What is wrong, e.g. "payload of 12 bytes is shorter than the 64-byte header".
    public let detail: String

    public init(_ detail: String) { self.detail = detail }
}
