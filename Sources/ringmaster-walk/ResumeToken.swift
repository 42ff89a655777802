/// A checkpoint token: the next entry the walk will emit, so a restart can resume there.
///
/// The walk order is a pre-order walk with each directory's entries sorted bytewise: an entry
/// comes after its ancestors and before its descendants and later siblings. Comparing two paths
/// component by component gives the same order, so a token needs nothing but the entry's path:
/// "every record before this entry was delivered". A restart reads only the directories on the
/// way to that entry (binary search in each), not the part of the tree already walked.
///
/// Bytes: `RMW1` · fingerprint u64 LE · root index u32 LE · the entry's path relative to its root
/// (components joined by `/`; empty for the root itself). Opaque to the supervisor.
struct ResumeToken: Equatable {
    static let magic: [UInt8] = Array("RMW1".utf8)

    /// `WalkOptions.fingerprint`: a token from another configuration is not trusted.
    var fingerprint: UInt64
    /// Which root, in the order of the command line.
    var rootIndex: Int
    /// The entry's path below its root, components joined by `/`.
    var relativePath: [UInt8]

    /// The path's components (none for the root itself).
    var components: [[UInt8]] {
        relativePath.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
    }

    /// The token's bytes, for `Producer.checkpoint`.
    func encoded() -> [UInt8] {
        var bytes = Self.magic
        withUnsafeBytes(of: fingerprint.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: rootIndex).littleEndian) { bytes += $0 }
        return bytes + relativePath
    }

    init(fingerprint: UInt64, rootIndex: Int, relativePath: [UInt8]) {
        self.fingerprint = fingerprint
        self.rootIndex = rootIndex
        self.relativePath = relativePath
    }

    /// Reads a token; nil when the bytes are not one.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 16, Array(bytes[0..<4]) == Self.magic else { return nil }
        var fingerprint: UInt64 = 0
        var root: UInt32 = 0
        for k in 0..<8 { fingerprint |= UInt64(bytes[4 + k]) << (8 * k) }
        for k in 0..<4 { root |= UInt32(bytes[12 + k]) << (8 * k) }
        self.init(fingerprint: fingerprint, rootIndex: Int(root), relativePath: Array(bytes[16...]))
    }
}
