/// The bytes on their way to the child, and enough of what was already written to resend what a
/// dead child never read. Pure: the plugin tells it what `write` accepted and, when a child
/// dies, how many bytes were still unread in the pipe (`FIONREAD`); the journal answers which
/// records a new child must get.
///
/// Offsets count the bytes of the current child's stream. The pipe never holds more than its
/// capacity, so records that ended more than `retention` bytes before the write position were
/// read by the child for certain and are dropped: memory stays bounded by the current batch plus
/// about one pipe's worth.
public struct ReplayJournal: Sendable {
    private struct Chunk: Sendable {
        var batch: EncodedBatch
        /// Stream offset of `batch.bytes[0]` (may be negative after a rewind dropped its head).
        var base: Int
        /// First record of `batch` still in the journal.
        var first: Int
        var end: Int { base + batch.bytes.count }
        func start(ofRecord index: Int) -> Int { base + (index == 0 ? 0 : batch.ends[index - 1]) }
    }

    private var chunks: [Chunk] = []
    /// Stream offset up to which the current child's pipe accepted bytes.
    public private(set) var written = 0
    /// Bytes kept after they were written (the pipe's capacity).
    public let retention: Int

    public init(retention: Int) { self.retention = max(0, retention) }

    /// Stream offset past the last appended byte.
    public var end: Int { chunks.last?.end ?? written }
    /// Whether everything appended was written.
    public var isDrained: Bool { written >= end }
    /// Records still held (written and kept, or not yet written).
    public var heldRecords: Int { chunks.reduce(0) { $0 + $1.batch.count - $1.first } }

    /// Queues a batch after everything else.
    public mutating func append(_ batch: EncodedBatch) {
        guard batch.count > 0 else { return }
        chunks.append(Chunk(batch: batch, base: end, first: 0))
    }

    /// The next bytes to write: a contiguous run from `written`; nil when drained.
    public func pending<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let chunk = chunks.first(where: { $0.end > written }) else { return nil }
        let from = written - chunk.base
        return try chunk.batch.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[from...])) }
    }

    /// Records that the pipe accepted `count` more bytes, and drops what the child surely read.
    public mutating func didWrite(_ count: Int) {
        written += count
        let certainlyRead = written - retention
        while let head = chunks.first, head.end <= certainlyRead { chunks.removeFirst() }
    }

    /// The child is gone with `unread` bytes still in its pipe (nil: unknown, assume a full pipe).
    /// Keeps, from the first record the child did not read completely, everything for a new child
    /// whose stream starts at offset 0. Returns the records resent from what was written.
    @discardableResult
    public mutating func rewind(unread: Int?) -> Int {
        let consumed = max(0, written - min(max(unread ?? retention, 0), written))
        var resent = 0
        var kept: [Chunk] = []
        for var chunk in chunks where chunk.end > consumed {
            // The first record of this chunk that ends after what the child read.
            while chunk.first < chunk.batch.count && chunk.base + chunk.batch.ends[chunk.first] <= consumed {
                chunk.first += 1
            }
            guard chunk.first < chunk.batch.count else { continue }
            for index in chunk.first..<chunk.batch.count where chunk.start(ofRecord: index) < written { resent += 1 }
            kept.append(chunk)
        }
        // Re-base so the first kept record starts at offset 0 of the new child's stream.
        let origin = kept.first.map { $0.start(ofRecord: $0.first) } ?? written
        for index in kept.indices { kept[index].base -= origin }
        chunks = kept
        written = 0
        if let head = chunks.first { written = head.start(ofRecord: head.first) }
        return resent
    }

    /// Forgets everything (the child will not be restarted).
    public mutating func discardAll() {
        chunks.removeAll()
        written = 0
    }
}
