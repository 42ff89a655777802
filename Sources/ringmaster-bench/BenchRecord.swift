/// The benchmark's record of `size` bytes (a multiple of 8, at least 16): the sequence number in
/// the first 8 bytes, a tag derived from it in the last 8, filler from a template between.
///
/// Verification is deliberately cheap and the same for every transport: the reader checks the
/// sequence of each record (order and count) and sums the tags (a torn or misplaced record end
/// changes the sum). Hashing whole 64 KiB payloads would measure the hash, not the transport.
enum BenchRecord {
    /// Odd, so the tags of different sequence numbers differ.
    static let tagStep: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Mixed with the size, so a run that read records of the wrong size cannot match the sum.
    static func tagSeed(size: Int) -> UInt64 { 0xD1B5_4A32_D192_ED03 ^ UInt64(size) }

    /// The tag of record `sequence`: linear in the sequence, so the sum has a closed form.
    @inline(__always)
    static func tag(_ sequence: UInt64, seed: UInt64) -> UInt64 { sequence &* tagStep &+ seed }

    /// The sum of the tags of records `0..<count`, modulo 2^64: what both sides must arrive at.
    static func expectedChecksum(count: UInt64, size: Int) -> UInt64 {
        // Σ (s·step + seed) = step · count(count−1)/2 + seed · count, halving the even factor first.
        let (a, b) = count % 2 == 0 ? (count / 2, count &- 1) : (count, (count &- 1) / 2)
        return tagStep &* (a &* b) &+ tagSeed(size: size) &* count
    }
}

/// Writes records in place, numbered from 0: one copy from the template, then the sequence and the tag.
///
/// A small value: producers copy it into a local for their inner loops (so its fields stay in
/// registers) and store it back after. It holds its template for the process's life (producers
/// are short-lived children; the parent makes one per memcpy case and frees it with `deallocate()`).
struct RecordFiller {
    let size: Int
    /// The record's filler; bytes 8..<size-8 are copied into every record.
    let template: UnsafeMutableRawPointer
    /// Records written so far, which is also the next sequence number.
    private(set) var count: UInt64 = 0
    /// The next record's tag (tags grow by `BenchRecord.tagStep`).
    private var tag: UInt64
    /// The sum of the tags written so far.
    private(set) var checksum: UInt64 = 0

    init(size: Int) {
        precondition(size >= 16 && size % 8 == 0, "record size \(size) is not a multiple of 8 ≥ 16")
        self.size = size
        tag = BenchRecord.tag(0, seed: BenchRecord.tagSeed(size: size))
        template = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        for index in 0..<size { template.storeBytes(of: UInt8(truncatingIfNeeded: index &* 31 &+ 7), toByteOffset: index, as: UInt8.self) }
    }

    func deallocate() { template.deallocate() }

    /// Fills the `size` bytes at `record` as the next record.
    @inline(__always)
    mutating func fillNext(_ record: UnsafeMutableRawPointer) {
        if size > 256 {
            (record + 8).copyMemory(from: template + 8, byteCount: size - 16)
        } else {
            // Small records: an inlined copy in 16-byte pieces; a call into the C library would
            // cost more than the copy.
            var offset = 8
            let end = size - 8
            while offset &+ 16 <= end {
                record.storeBytes(of: template.loadUnaligned(fromByteOffset: offset, as: SIMD2<UInt64>.self),
                                  toByteOffset: offset, as: SIMD2<UInt64>.self)
                offset &+= 16
            }
            if offset < end {
                record.storeBytes(of: template.load(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
            }
        }
        record.storeBytes(of: count.littleEndian, as: UInt64.self)
        record.storeBytes(of: tag.littleEndian, toByteOffset: size - 8, as: UInt64.self)
        checksum &+= tag
        tag &+= BenchRecord.tagStep
        count &+= 1
    }
}

/// The reader's check of each record: expected sequence and length, and the running tag sum.
///
/// After the first failure the expected sequence stops advancing, so every later record fails
/// too; only the first failure is kept, and readers look at `failure` once per batch.
struct RecordChecker {
    let size: Int
    /// Records that passed, which is also the next expected sequence number.
    private(set) var count: UInt64 = 0
    /// The sum of the tags of the records that passed.
    private(set) var checksum: UInt64 = 0
    /// The first thing that was wrong, if anything.
    private(set) var failure: String?

    init(size: Int) { self.size = size }

    @inline(__always)
    mutating func check(_ record: UnsafeRawPointer, length: Int) {
        let sequence = UInt64(littleEndian: record.loadUnaligned(as: UInt64.self))
        if _slowPath(sequence != count || length != size) {
            noteFailure("record \(count): sequence \(sequence), length \(length) (expected sequence \(count), length \(size))")
            return
        }
        checksum &+= UInt64(littleEndian: record.loadUnaligned(fromByteOffset: size - 8, as: UInt64.self))
        count &+= 1
    }

    @inline(never)
    mutating func noteFailure(_ message: String) {
        if failure == nil { failure = message }
    }
}
