import CShim

/// Why a write could not go ahead. The writer never drops: it either writes or throws.
public enum RingWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload is larger than the ring's max record.
    case recordTooLarge(length: Int, maxRecord: UInt32)
    /// A producer may not use this type (0 is PAD, 0xF000... are reserved for the SDK).
    case typeNotAllowed(UInt16)
    /// The ring stayed full for the whole timeout.
    case timedOut
    /// `reserve` while a reservation is open, or `commit`/`abort` without one.
    case reservationMisuse(String)
    /// The reader's `head` is not where a sane reader could have put it.
    case corruptHead(head: UInt64, tail: UInt64)
    /// Waiting for space failed in the system.
    case system(SystemError)

    public var description: String {
        switch self {
        case .recordTooLarge(let length, let max): "record of \(length) bytes exceeds max record \(max)"
        case .typeNotAllowed(let type): "record type 0x\(String(type, radix: 16)) is not a producer type (1...0xefff)"
        case .timedOut: "ring stayed full for the whole timeout"
        case .reservationMisuse(let what): what
        case .corruptHead(let head, let tail): "ring head \(head) is impossible with tail \(tail)"
        case .system(let error): "\(error)"
        }
    }
}

/// The producer's side of a ring: zero-copy `reserve`/`commit`, `send`, and batched publishing.
///
/// Single producer: one `RingWriter` per ring, used from one thread. Records become visible to
/// the reader when `tail` is published (store-release); outside a batch that is at every commit,
/// inside `batch { }` at the end of the batch, every `publishThreshold` bytes, and before
/// blocking. A full ring blocks (backpressure); nothing is ever dropped.
public struct RingWriter: ~Copyable {
    @usableFromInline let region: SharedRegion
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let data: UnsafeMutableRawPointer
    @usableFromInline let capacity: UInt64
    @usableFromInline let mask: UInt64
    @usableFromInline let maxRecord: UInt32
    @usableFromInline let notifiers: NotifierPair
    /// Local write position: committed records, published or not.
    @usableFromInline var tail: UInt64
    /// What the reader can see.
    @usableFromInline var published: UInt64
    /// Last `head` read from the ring.
    @usableFromInline var headCache: UInt64
    /// Open reservation: position of its header (`UInt64.max` when none), type and length.
    @usableFromInline var reservedAt: UInt64 = .max
    @usableFromInline var reservedType: UInt16 = 0
    @usableFromInline var reservedLength: Int = 0
    @usableFromInline var batchDepth = 0
    @usableFromInline var committedCount: UInt64 = 0
    /// Inside a batch, publish at least this often (bytes).
    public var publishThreshold: UInt64
    /// How far ahead of `tail` the writer prefetches the line it will write, in bytes.
    @usableFromInline static var prefetchDistance: UInt64 { 2048 }
    /// Iterations of the short spin on a full ring before sleeping.
    public var spinBeforeSleep = 256

    /// A writer for `segment` that continues from the positions in its header.
    public init(segment: Segment, notifiers: NotifierPair) {
        region = segment.region
        base = region.base
        data = region.base + SegmentLayout.dataOffset
        capacity = segment.geometry.capacity
        mask = capacity - 1
        maxRecord = segment.geometry.maxRecord
        self.notifiers = notifiers
        tail = region.loadAcquire64(at: SegmentLayout.tailOffset)
        published = tail
        headCache = region.loadAcquire64(at: SegmentLayout.headOffset)
        publishThreshold = min(64 << 10, capacity / 4)
    }

    /// The largest payload this ring takes.
    public var maxRecordLength: Int { Int(maxRecord) }
    /// Records committed through this writer.
    public var recordsCommitted: UInt64 { committedCount }

    // MARK: records

    /// Reserves room for a `length`-byte payload of `type` and returns the buffer to fill, inside
    /// the ring (zero copy). Blocks while the ring is full, up to `timeoutNanoseconds` (nil: no limit).
    /// Finish with `commit(length:)` or `abort()`.
    @inlinable @inline(__always)
    public mutating func reserve(_ length: Int, type: RecordType = .data,
                                 timeoutNanoseconds: Int64? = nil) throws(RingWriteError) -> UnsafeMutableRawBufferPointer {
        guard type.isUserType else { throw .typeNotAllowed(type.rawValue) }
        return try reserveAny(length, type: type.rawValue, timeoutNanoseconds: timeoutNanoseconds)
    }

    /// `reserve` without the type check, for the SDK's reserved types (checkpoint, end-of-stream, ...).
    @inlinable @inline(__always)
    public mutating func reserveAny(_ length: Int, type: UInt16,
                                    timeoutNanoseconds: Int64? = nil) throws(RingWriteError) -> UnsafeMutableRawBufferPointer {
        guard reservedAt == .max else { throw .reservationMisuse("reserve while a reservation is open") }
        guard length >= 0, length <= Int(maxRecord) else { throw .recordTooLarge(length: length, maxRecord: maxRecord) }
        let frame = SegmentLayout.frameSize(payloadLength: UInt64(length))
        let offset = tail & mask
        let toEnd = capacity - offset
        let needed = toEnd < frame ? toEnd + frame : frame
        let free = capacity - (tail &- headCache)
        if free < needed {
            try waitForSpace(needed, timeoutNanoseconds: timeoutNanoseconds)
        } else if free - needed > Self.prefetchDistance {
            // Start fetching, writable, the line this writer reaches a few records from now, so
            // its trip back from the reader's core overlaps the work in between instead of
            // stalling a later store. Only while that far ahead is free space, so it does not
            // pull away lines the reader is still reading; a hint, it changes no byte.
            cshim_prefetch_write(data + Int(truncatingIfNeeded: (tail &+ Self.prefetchDistance) & mask))
        }
        if toEnd < frame {
            // PAD from here to exactly the end; its payload bytes are never read.
            (data + Int(offset)).storeBytes(of: (toEnd - 8).littleEndian, as: UInt64.self)
            tail &+= toEnd
        }
        reservedAt = tail
        reservedType = type
        reservedLength = length
        return UnsafeMutableRawBufferPointer(start: data + Int(tail & mask) + 8, count: length)
    }

    /// Commits the open reservation with `length` payload bytes (default: all that was reserved;
    /// less is allowed). Publishes at once outside a batch.
    @inlinable @inline(__always)
    public mutating func commit(length: Int? = nil) throws(RingWriteError) {
        guard reservedAt != .max else { throw .reservationMisuse("commit without a reservation") }
        let used = length ?? reservedLength
        guard used >= 0, used <= reservedLength else {
            throw .reservationMisuse("commit of \(used) bytes exceeds the \(reservedLength) reserved")
        }
        let record = data + Int(reservedAt & mask)
        let padded = (used + 7) & ~7
        if padded != used {
            (record + 8 + used).initializeMemory(as: UInt8.self, repeating: 0, count: padded - used)
        }
        let header = UInt64(UInt32(used)) | UInt64(reservedType) << 32
        record.storeBytes(of: header.littleEndian, as: UInt64.self)
        tail = reservedAt &+ 8 &+ UInt64(padded)
        reservedAt = .max
        committedCount &+= 1
        if batchDepth == 0 || tail &- published >= publishThreshold { publish() }
    }

    /// Drops the open reservation; nothing of it becomes visible.
    @inlinable
    public mutating func abort() {
        reservedAt = .max
    }

    /// Copies `bytes` into one record of `type` and commits it.
    @inlinable
    public mutating func send(type: RecordType = .data, bytes: UnsafeRawBufferPointer,
                              timeoutNanoseconds: Int64? = nil) throws(RingWriteError) {
        let buffer = try reserve(bytes.count, type: type, timeoutNanoseconds: timeoutNanoseconds)
        if let source = bytes.baseAddress, bytes.count > 0 {
            buffer.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        }
        try commit()
    }

    /// Copies `bytes` into one record of `type` and commits it.
    @inlinable
    public mutating func send(type: RecordType = .data, bytes: [UInt8],
                              timeoutNanoseconds: Int64? = nil) throws(RingWriteError) {
        // withUnsafeBytes rethrows untyped; the only error inside is a RingWriteError.
        do {
            try bytes.withUnsafeBytes { raw in
                try send(type: type, bytes: raw, timeoutNanoseconds: timeoutNanoseconds)
            }
        } catch let error as RingWriteError {
            throw error
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// Writes a record of a reserved type (the SDK's checkpoint, end-of-stream, heartbeat, log line).
    public mutating func sendReserved(_ type: RecordType, bytes: [UInt8]) throws(RingWriteError) {
        let buffer = try reserveAny(bytes.count, type: type.rawValue)
        buffer.copyBytes(from: bytes)
        try commit()
    }

    // MARK: batches

    /// Runs `body` with publishing deferred: `tail` is published once at the end (and every
    /// `publishThreshold` bytes, and before blocking), so small records cost far fewer cache-line
    /// transfers. Batches nest; the outermost one publishes.
    @inlinable
    public mutating func batch<R, E: Error>(_ body: (inout RingWriter) throws(E) -> R) throws(E) -> R {
        batchDepth += 1
        defer {
            batchDepth -= 1
            if batchDepth == 0 { publish() }
        }
        return try body(&self)
    }

    /// Makes every committed record visible, and wakes the reader if it announced it sleeps.
    @inlinable
    public mutating func publish() {
        guard tail != published else { return }
        published = tail
        cshim_store_release_u64(base + SegmentLayout.tailOffset, tail)
        cshim_store_relaxed_u64(base + SegmentLayout.recordsCommittedOffset, committedCount)
        cshim_fence_seq_cst()
        if cshim_load_relaxed_u32(base + SegmentLayout.consumerSleepingOffset) != 0 {
            try? notifiers.dataReady.signal()
        }
    }

    /// Signals data-ready whether or not the reader announced sleep. `publish` already wakes a
    /// sleeping reader; this is for code that writes the ring by other means (tests of the
    /// reader's checks).
    public func wakeReader() {
        try? notifiers.dataReady.signal()
    }

    // MARK: backpressure

    /// Blocks until `needed` bytes are free: publish first (the reader can only free what it sees),
    /// spin briefly, then announce `producer_waiting`, fence, re-check, and sleep on space-free.
    @usableFromInline
    mutating func waitForSpace(_ needed: UInt64, timeoutNanoseconds: Int64?) throws(RingWriteError) {
        publish()
        if try refreshHead(needed) { return }
        for _ in 0..<spinBeforeSleep {
            cshim_cpu_relax()
            if try refreshHead(needed) { return }
        }
        let deadline = timeoutNanoseconds.map { MonotonicClock.now() &+ UInt64(max(0, $0)) }
        let waiting = base + SegmentLayout.producerWaitingOffset
        defer { cshim_store_relaxed_u32(waiting, 0) }
        while true {
            cshim_store_relaxed_u32(waiting, 1)
            cshim_fence_seq_cst()
            if try refreshHead(needed) { return }
            var remaining: Int64? = nil
            if let deadline {
                let now = MonotonicClock.now()
                if now >= deadline { throw .timedOut }
                remaining = Int64(deadline - now)
            }
            do { _ = try notifiers.spaceFree.wait(timeoutNanoseconds: remaining) } catch { throw .system(error) }
        }
    }

    @usableFromInline
    mutating func refreshHead(_ needed: UInt64) throws(RingWriteError) -> Bool {
        let head = cshim_load_acquire_u64(base + SegmentLayout.headOffset)
        guard head <= published, published &- head <= capacity, head >= headCache else {
            throw .corruptHead(head: head, tail: published)
        }
        headCache = head
        return capacity - (tail &- head) >= needed
    }

    /// Records this process as the ring's producer (advisory, for status displays).
    public func announce(pid: UInt32) {
        region.storeRelease32(pid, at: SegmentLayout.producerPIDOffset)
    }

    /// Stores a heartbeat time (advisory).
    public func stampHeartbeat() {
        region.storeRelease64(MonotonicClock.now(), at: SegmentLayout.lastHeartbeatOffset)
    }
}
