/// The path of the entry being visited, grown and cut as the walk moves, always NUL-terminated
/// so it can go to C as is. One buffer for the whole walk: no allocation per entry.
struct PathBuffer: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    /// The path's length in bytes (the NUL not counted).
    private(set) var count = 0

    init() {
        capacity = 4096
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity + 1, alignment: 1)
        base.storeBytes(of: 0, as: UInt8.self)
    }

    deinit { base.deallocate() }

    /// The path's bytes; valid until the next change.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// The bytes from `offset` on (empty when `offset` is past the end).
    func suffix(from offset: Int) -> UnsafeRawBufferPointer {
        offset >= count ? UnsafeRawBufferPointer(start: base, count: 0) : UnsafeRawBufferPointer(start: base + offset, count: count - offset)
    }

    /// The path as a C string; valid until the next change.
    var cString: UnsafePointer<CChar> { UnsafePointer(base.assumingMemoryBound(to: CChar.self)) }

    /// The last byte, if any.
    var last: UInt8? { count == 0 ? nil : base.load(fromByteOffset: count - 1, as: UInt8.self) }

    /// Appends `bytes`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(count + bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
        base.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
    }

    /// Appends one byte.
    mutating func append(_ byte: UInt8) {
        reserve(count + 1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
        base.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
    }

    /// Cuts the path back to `length` bytes.
    mutating func truncate(to length: Int) {
        guard length < count else { return }
        count = length
        base.storeBytes(of: 0, toByteOffset: count, as: UInt8.self)
    }

    /// Replaces the path with `bytes`.
    mutating func set(_ bytes: [UInt8]) {
        count = 0
        bytes.withUnsafeBytes { append($0) }
    }

    private mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = max(capacity * 2, needed)
        let moved = UnsafeMutableRawPointer.allocate(byteCount: grown + 1, alignment: 1)
        moved.copyMemory(from: base, byteCount: count + 1)
        base.deallocate()
        base = moved
        capacity = grown
    }
}
