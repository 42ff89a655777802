import SystemKit

/// The `file-entry` payload (docs/PROTOCOL.md §13): a 64-byte little-endian header, then the
/// path's raw bytes. The supervisor's decoder (`FileEntryRendering`) reads the same layout.
///
/// ```
///  0 kind u8 · 1 type u8 · 2 op u8 · 3 flags u8 · 4 errno u32
///  8 size u64 · 16 mtime_ns s64 · 24 inode u64 · 32 device u64 · 40 nlink u64
/// 48 mode u32 · 52 uid u32 · 56 gid u32 · 60 path length u32 · 64 path bytes
/// ```
enum FileEntryLayout {
    /// Bytes before the path.
    static let headerSize = 64

    /// What a record reports.
    enum Kind: UInt8 {
        /// An entry of the tree, with its status.
        case entry = 1
        /// An entry or directory the walker could not read; `errno` says why, `op` what failed.
        case error = 2
    }

    /// In an error record, the step that failed.
    enum Operation: UInt8 {
        case none = 0
        /// `fstatat` on the entry: no entry record is emitted for it.
        case stat = 1
        /// `openat` on a directory whose entry record was emitted.
        case open = 2
        /// `getdents64` on an open directory: the entries read before the error are still walked.
        case read = 3
        /// A directory that is its own ancestor (same device and inode): no entry record, no descent.
        case loop = 4
        /// The path does not fit in one record (errno ENAMETOOLONG); the path is cut to fit.
        case record = 5
    }

    /// `flags` bits.
    enum Flag {
        /// size, mode, uid, gid, mtime_ns, device and nlink are filled in (clear with `--no-stat`).
        static let status: UInt8 = 1
        /// The path was cut to fit the ring's max record.
        static let pathTruncated: UInt8 = 2
    }
}

/// The fixed fields of one record, before the path.
struct FileEntryHeader {
    var kind = FileEntryLayout.Kind.entry
    var type = EntryType.unknown
    var operation = FileEntryLayout.Operation.none
    var flags: UInt8 = 0
    var errno: UInt32 = 0
    var size: UInt64 = 0
    var mtimeNanoseconds: Int64 = 0
    var inode: UInt64 = 0
    var device: UInt64 = 0
    var links: UInt64 = 0
    var mode: UInt32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// An entry record; the status fields when `status` is given, else only type and inode.
    static func entry(type: EntryType, inode: UInt64, status: EntryStatus?) -> FileEntryHeader {
        guard let status else { return FileEntryHeader(type: type, inode: inode) }
        return FileEntryHeader(type: status.type, flags: FileEntryLayout.Flag.status, size: status.size,
                               mtimeNanoseconds: status.mtimeNanoseconds, inode: status.inode,
                               device: status.device, links: status.links, mode: status.mode,
                               uid: status.uid, gid: status.gid)
    }

    /// An error record.
    static func error(_ error: Errno, operation: FileEntryLayout.Operation, type: EntryType) -> FileEntryHeader {
        FileEntryHeader(kind: .error, type: type, operation: operation, errno: UInt32(bitPattern: error.rawValue))
    }

    /// Writes the header and `path` into `buffer`, which holds exactly `headerSize + path.count` bytes.
    @inline(__always)
    func write(path: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) {
        let out = buffer.baseAddress!
        out.storeBytes(of: kind.rawValue, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: type.rawValue, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: operation.rawValue, toByteOffset: 2, as: UInt8.self)
        out.storeBytes(of: flags, toByteOffset: 3, as: UInt8.self)
        out.storeBytes(of: errno.littleEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: size.littleEndian, toByteOffset: 8, as: UInt64.self)
        out.storeBytes(of: UInt64(bitPattern: mtimeNanoseconds).littleEndian, toByteOffset: 16, as: UInt64.self)
        out.storeBytes(of: inode.littleEndian, toByteOffset: 24, as: UInt64.self)
        out.storeBytes(of: device.littleEndian, toByteOffset: 32, as: UInt64.self)
        out.storeBytes(of: links.littleEndian, toByteOffset: 40, as: UInt64.self)
        out.storeBytes(of: mode.littleEndian, toByteOffset: 48, as: UInt32.self)
        out.storeBytes(of: uid.littleEndian, toByteOffset: 52, as: UInt32.self)
        out.storeBytes(of: gid.littleEndian, toByteOffset: 56, as: UInt32.self)
        out.storeBytes(of: UInt32(path.count).littleEndian, toByteOffset: 60, as: UInt32.self)
        if path.count > 0 { (out + FileEntryLayout.headerSize).copyMemory(from: path.baseAddress!, byteCount: path.count) }
    }
}
