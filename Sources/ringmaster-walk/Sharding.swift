/// 64-bit FNV-1a: small, stable across runs and machines, and good enough to spread names.
struct FNV1a {
    /// The digest so far.
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Mixes `bytes` in.
    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
    }

    /// The digest of `bytes` alone.
    static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash = FNV1a()
        hash.add(bytes)
        return hash.value
    }
}

/// Which entries this instance of a pool emits. Every instance computes the same answer from the
/// path alone, so the instances' shares are disjoint and together cover the tree.
///
/// - a root (depth 0) belongs to instance 0;
/// - an entry at depth 1 … `splitDepth` belongs to `FNV-1a(path relative to its root) mod N`;
/// - a deeper entry belongs to the owner of its ancestor at depth `splitDepth`.
///
/// Directories above `splitDepth` are read by every instance (that is the cost: N × their
/// `getdents64`, plus a stat of the subdirectories that need one); below it, each subtree is read
/// by its owner alone.
struct Shard: Equatable {
    /// This instance, 0-based.
    let instance: Int
    /// The pool size.
    let instances: Int
    /// See the type's comment.
    let splitDepth: Int

    /// Whether this instance emits the entry at `depth` with `relativePath`, given whether it
    /// owns the subtree of the entry's parent (meaningful only below the split depth).
    func emits(depth: Int, relativePath: UnsafeRawBufferPointer, parentOwned: Bool) -> Bool {
        if instances == 1 { return true }
        if depth == 0 { return instance == 0 }
        if depth > splitDepth { return parentOwned }
        return Int(FNV1a.hash(relativePath) % UInt64(instances)) == instance
    }

    /// Whether this instance reads a directory at `depth` that it does or does not emit.
    func descends(depth: Int, emitted: Bool) -> Bool {
        depth < splitDepth || emitted
    }
}
