import CShim

/// One record handed out by `RingReader.drain`: a borrowed view into the ring.
///
/// The payload is valid until the batch is released, and its bytes are untrusted: the producer
/// may still scribble on them. Decode against `payload.count` (copied once from the header),
/// never against lengths re-read from the ring.
public struct RingRecord {
    /// Ring position of the record's header (monotonic byte count).
    public let position: UInt64
    /// The record's type.
    public let type: RecordType
    /// The payload, borrowed from the ring.
    public let payload: UnsafeRawBufferPointer

    @usableFromInline
    init(position: UInt64, type: RecordType, payload: UnsafeRawBufferPointer) {
        self.position = position
        self.type = type
        self.payload = payload
    }

    /// A copy of the payload (for storing past the batch).
    public var bytes: [UInt8] { Array(payload) }
}

/// What one `drain` covered.
public struct DrainSummary: Hashable, Sendable {
    /// Records handed to the body (PAD excluded).
    public var records = 0
    /// Ring bytes parsed, PAD included.
    public var bytes: UInt64 = 0
    /// The position up to which records were parsed: pass it to `release(through:)`.
    public var end: UInt64 = 0
    /// True when an end-of-stream record was seen in this batch.
    public var sawEndOfStream = false

    /// An empty summary (nothing drained).
    public init() {}
}

/// The supervisor's side of a ring: checked, batched, borrowing reads.
///
/// It trusts nothing in the segment: geometry comes from the creator's private copy, `tail` is
/// read once per drain, every header is copied into locals and checked before use, all
/// arithmetic is 64-bit and checked, and the first violation poisons the reader.
public struct RingReader: ~Copyable {
    private let region: SharedRegion
    private let base: UnsafeMutableRawPointer
    @usableFromInline let data: UnsafeRawPointer
    @usableFromInline let geometry: RingGeometry
    @usableFromInline let mask: UInt64
    private let generation: UInt64
    private let notifiers: NotifierPair
    /// Released position (the truth; the shared `head` mirrors it).
    private(set) public var head: UInt64
    /// Parsed position: records in `[head, position)` are handed out and not yet released.
    private(set) public var position: UInt64
    /// Set after an end-of-stream record: anything after it is a violation.
    private(set) public var sawEndOfStream = false
    /// The first violation seen; once set, every drain throws it.
    private(set) public var violation: RingViolation?
    /// Iterations of the short spin before `waitForData` sleeps.
    public var spinBeforeSleep = 256

    /// A reader for a segment this process created (its geometry is the creator's private copy).
    /// Expects a fresh or reset header (positions at 0).
    public init(segment: Segment, notifiers: NotifierPair) {
        region = segment.region
        base = region.base
        data = UnsafeRawPointer(region.base + SegmentLayout.dataOffset)
        geometry = segment.geometry
        mask = geometry.capacity - 1
        generation = segment.generation
        self.notifiers = notifiers
        head = 0
        position = 0
    }

    /// Records committed and not yet parsed, as far as the shared `tail` says (may be wrong for a
    /// hostile producer; `drain` checks).
    public var pendingBytes: UInt64 {
        let tail = cshim_load_acquire_u64(base + SegmentLayout.tailOffset)
        return tail >= position ? tail - position : 0
    }

    // MARK: drain

    /// Parses the records committed since the last drain, up to about `maxBytes` ring bytes, and
    /// hands each one (PAD excluded) to `body` as a borrowed view. Space is not released: call
    /// `release(through:)` with the summary's `end` when every consumer is done with the batch.
    ///
    /// Inlinable so that `body` is inlined into the parsing loop (no call per record): the common
    /// record is checked in one combined test, and any record that fails it (PAD, reserved types,
    /// every violation) goes through `parseUncommon`, which runs each check in order.
    @inlinable
    public mutating func drain(maxBytes: UInt64 = .max, _ body: (RingRecord) -> Void) throws(RingViolation) -> DrainSummary {
        if let violation { throw violation }
        do {
            return try checkedDrain(maxBytes: maxBytes, body)
        } catch {
            poison(error)
            throw error
        }
    }

    @usableFromInline
    mutating func poison(_ error: RingViolation) { violation = error }

    /// The write-once header block must still say what the creator wrote. Eight plain loads from
    /// a line the producer never writes legitimately, so the check costs next to nothing.
    private func checkHeaderUnchanged() throws(RingViolation) {
        let r = region
        try expectUnchanged("magic", SegmentLayout.magicOffset, r.load64(at: SegmentLayout.magicOffset), SegmentLayout.magic)
        try expectUnchanged("version", SegmentLayout.versionOffset, UInt64(r.load32(at: SegmentLayout.versionOffset)), UInt64(SegmentLayout.version))
        try expectUnchanged("header size", SegmentLayout.headerSizeOffset, UInt64(r.load32(at: SegmentLayout.headerSizeOffset)), UInt64(SegmentLayout.headerSize))
        try expectUnchanged("data offset", SegmentLayout.dataOffsetOffset, UInt64(r.load32(at: SegmentLayout.dataOffsetOffset)), UInt64(SegmentLayout.dataOffset))
        try expectUnchanged("capacity", SegmentLayout.capacityOffset, r.load64(at: SegmentLayout.capacityOffset), geometry.capacity)
        try expectUnchanged("max record", SegmentLayout.maxRecordOffset, UInt64(r.load32(at: SegmentLayout.maxRecordOffset)), UInt64(geometry.maxRecord))
        try expectUnchanged("flags", SegmentLayout.flagsOffset, UInt64(r.load32(at: SegmentLayout.flagsOffset)), 0)
        try expectUnchanged("generation", SegmentLayout.generationOffset, r.load64(at: SegmentLayout.generationOffset), generation)
    }

    private func expectUnchanged(_ field: String, _ offset: Int, _ found: UInt64, _ expected: UInt64) throws(RingViolation) {
        guard found != expected else { return }
        throw RingViolation(.headerChanged, field: field, segmentOffset: UInt64(offset), position: 0,
                            detail: "\(field) changed after creation: \(found) (0x\(String(found, radix: 16))), expected \(expected) (0x\(String(expected, radix: 16)))")
    }

    /// The checks made once per drain: the write-once header, the shared `head`, and `tail`, which
    /// is read here and only here. Returns that `tail`.
    @usableFromInline
    mutating func beginDrain() throws(RingViolation) -> UInt64 {
        try checkHeaderUnchanged()
        let sharedHead = cshim_load_relaxed_u64(base + SegmentLayout.headOffset)
        guard sharedHead == head else {
            throw RingViolation(.headMoved, field: "head", segmentOffset: UInt64(SegmentLayout.headOffset), position: head,
                                detail: "head changed by the producer: \(sharedHead), expected \(head)")
        }
        let tail = cshim_load_acquire_u64(base + SegmentLayout.tailOffset)
        let tailOffset = UInt64(SegmentLayout.tailOffset)
        guard tail >= head else {
            throw RingViolation(.tailBehindHead, field: "tail", segmentOffset: tailOffset, position: tail,
                                detail: "tail \(tail) is behind head \(head)")
        }
        guard tail - head <= geometry.capacity else {
            throw RingViolation(.tailBeyondCapacity, field: "tail", segmentOffset: tailOffset, position: tail,
                                detail: "tail \(tail) is beyond head \(head) + capacity \(geometry.capacity)")
        }
        guard tail % SegmentLayout.recordAlignment == 0 else {
            throw RingViolation(.tailMisaligned, field: "tail", segmentOffset: tailOffset, position: tail,
                                detail: "tail \(tail) is not a multiple of 8")
        }
        guard tail >= position else {
            throw RingViolation(.tailMovedBack, field: "tail", segmentOffset: tailOffset, position: tail,
                                detail: "tail \(tail) moved back behind records already read up to \(position)")
        }
        return tail
    }

    @inlinable
    mutating func checkedDrain(maxBytes: UInt64, _ body: (RingRecord) -> Void) throws(RingViolation) -> DrainSummary {
        let tail = try beginDrain()
        var p = position
        var records = 0
        var bytes: UInt64 = 0
        var endOfStream = false
        var afterEndOfStream = sawEndOfStream
        let capacity = geometry.capacity
        let maxRecord = UInt64(geometry.maxRecord)
        let lastUserType = UInt64(RecordType.firstReserved) - 1
        while p < tail && bytes < maxBytes {
            let offset = p & mask
            // One copy of the header word; every check below and in parseUncommon uses it.
            let word = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self))
            let length = word & 0xFFFF_FFFF
            let frame = SegmentLayout.frameSize(payloadLength: length)
            // The common record: flags clear and a producer type (type | flags << 16 in 1...0xEFFF),
            // nothing after end-of-stream, length within max record, the frame before the ring's end
            // and inside [p, tail) (which also puts the header inside it).
            if _fastPath((word >> 32) &- 1 < lastUserType && !afterEndOfStream && length <= maxRecord
                         && frame <= capacity - offset && frame <= tail - p) {
                body(RingRecord(position: p, type: RecordType(rawValue: UInt16(truncatingIfNeeded: word >> 32)),
                                payload: UnsafeRawBufferPointer(start: data + Int(offset) + 8, count: Int(length))))
                records += 1
                bytes += frame
                p += frame
                continue
            }
            let (step, record) = try parseUncommon(word: word, at: p, tail: tail)
            if let record {
                body(record)
                records += 1
                if record.type == .endOfStream { endOfStream = true }
            }
            afterEndOfStream = sawEndOfStream
            bytes += step
            p += step
        }
        return endDrain(at: p, records: records, bytes: bytes, sawEndOfStream: endOfStream)
    }

    /// Moves the parsed position to `end` and summarises the drain.
    @usableFromInline
    mutating func endDrain(at end: UInt64, records: Int, bytes: UInt64, sawEndOfStream endOfStream: Bool) -> DrainSummary {
        position = end
        var summary = DrainSummary()
        summary.records = records
        summary.bytes = bytes
        summary.end = end
        summary.sawEndOfStream = endOfStream
        return summary
    }

    /// Every check of one record, in order, from the header `word` copied at `p`: for PAD, the
    /// reserved types, and any record that breaks a rule. Returns the ring bytes the record takes
    /// and the record to hand out (nil for PAD).
    @usableFromInline
    mutating func parseUncommon(word: UInt64, at p: UInt64, tail: UInt64) throws(RingViolation) -> (UInt64, RingRecord?) {
        let capacity = geometry.capacity
        let maxRecord = UInt64(geometry.maxRecord)
        let offset = p & mask
        let at = UInt64(SegmentLayout.dataOffset) + offset
        // p and capacity are multiples of 8, so the 8-byte header never crosses the end.
        guard tail - p >= SegmentLayout.recordHeaderSize else {
            throw RingViolation(.headerPastTail, field: "tail", segmentOffset: at, position: p,
                                detail: "record header runs past tail \(tail) (\(tail - p) bytes left)")
        }
        let length = word & 0xFFFF_FFFF
        let type = UInt16(truncatingIfNeeded: word >> 32)
        let flags = UInt16(truncatingIfNeeded: word >> 48)
        let toEnd = capacity - offset
        guard flags == 0 else {
            throw RingViolation(.flagsSet, field: "flags", segmentOffset: at + 6, position: p,
                                detail: "flags 0x\(String(flags, radix: 16)) set; v1 defines none")
        }
        // Nothing may follow end-of-stream, not even a PAD (a producer writes PAD only before a record).
        if sawEndOfStream {
            throw RingViolation(.afterEndOfStream, field: "type", segmentOffset: at + 4, position: p,
                                detail: "record of type \(RecordType(rawValue: type)) follows end-of-stream")
        }
        if type == RecordType.pad.rawValue {
            let frame = SegmentLayout.frameSize(payloadLength: length)
            guard frame == toEnd else {
                throw RingViolation(.padNotAtEnd, field: "length", segmentOffset: at, position: p,
                                    detail: "PAD of length \(length) ends at \(offset + frame), not at the end of the ring (\(capacity))")
            }
            guard toEnd <= tail - p else {
                throw RingViolation(.recordPastTail, field: "length", segmentOffset: at, position: p,
                                    detail: "PAD of length \(length) runs past tail \(tail)")
            }
            return (toEnd, nil)
        }
        guard length <= maxRecord else {
            throw RingViolation(.lengthTooLarge, field: "length", segmentOffset: at, position: p,
                                detail: "length \(length) exceeds max record \(maxRecord)")
        }
        let frame = SegmentLayout.frameSize(payloadLength: length)
        guard frame <= toEnd else {
            throw RingViolation(.recordCrossesEnd, field: "length", segmentOffset: at, position: p,
                                detail: "record of length \(length) crosses the end of the ring (\(toEnd) bytes left before it)")
        }
        guard frame <= tail - p else {
            throw RingViolation(.recordPastTail, field: "length", segmentOffset: at, position: p,
                                detail: "record of length \(length) runs past tail \(tail) (\(tail - p) bytes committed)")
        }
        let recordType = RecordType(rawValue: type)
        if type >= RecordType.firstReserved {
            try checkReserved(recordType, length: length, at: at, position: p)
            if recordType == .endOfStream { sawEndOfStream = true }
        }
        return (frame, RingRecord(position: p, type: recordType,
                                  payload: UnsafeRawBufferPointer(start: data + Int(offset) + 8, count: Int(length))))
    }

    /// The reserved types v1 defines, and what their payloads may be.
    private func checkReserved(_ type: RecordType, length: UInt64, at: UInt64, position p: UInt64) throws(RingViolation) {
        switch type {
        case .checkpoint, .logLine:
            return
        case .endOfStream, .heartbeat:
            guard length == 0 else {
                throw RingViolation(.reservedType, field: "length", segmentOffset: at, position: p,
                                    detail: "\(type) record must be empty (length \(length))")
            }
        default:
            throw RingViolation(.reservedType, field: "type", segmentOffset: at + 4, position: p,
                                detail: "type 0x\(String(type.rawValue, radix: 16)) is reserved and not defined in v1")
        }
    }

    // MARK: release and sleep

    /// Gives the ring space of every record before `end` back to the producer, in one store-release,
    /// and wakes the producer if it announced it waits. Returns false if waking it failed.
    @discardableResult
    public mutating func release(through end: UInt64) -> Bool {
        precondition(end >= head && end <= position, "release(through: \(end)) outside [\(head), \(position)]")
        guard end != head else { return true }
        head = end
        cshim_store_release_u64(base + SegmentLayout.headOffset, end)
        cshim_fence_seq_cst()
        if cshim_load_relaxed_u32(base + SegmentLayout.producerWaitingOffset) != 0 {
            do { try notifiers.spaceFree.signal() } catch { return false }
        }
        return true
    }

    /// Releases everything parsed so far.
    @discardableResult
    public mutating func releaseAll() -> Bool { release(through: position) }

    /// Announces sleep (`consumer_sleeping = 1`, full fence), re-checks `tail`, and sleeps on
    /// data-ready only if nothing new arrived. For readers off an event loop (tests, benchmarks);
    /// the supervisor does the same steps around its poll. Returns false on timeout.
    public mutating func waitForData(timeoutNanoseconds: Int64? = nil) throws(SystemError) -> Bool {
        for _ in 0..<spinBeforeSleep {
            if pendingBytes > 0 { return true }
            cshim_cpu_relax()
        }
        let sleeping = base + SegmentLayout.consumerSleepingOffset
        cshim_store_relaxed_u32(sleeping, 1)
        cshim_fence_seq_cst()
        defer { cshim_store_relaxed_u32(sleeping, 0) }
        if pendingBytes > 0 { return true }
        return try notifiers.dataReady.wait(timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Announces that the reader is about to sleep (for an event loop that polls data-ready
    /// itself): returns true if records are already pending, in which case it must not sleep.
    public func prepareToSleep() -> Bool {
        cshim_store_relaxed_u32(base + SegmentLayout.consumerSleepingOffset, 1)
        cshim_fence_seq_cst()
        return pendingBytes > 0
    }

    /// Clears the sleep announcement after a wake-up.
    public func markAwake() {
        cshim_store_relaxed_u32(base + SegmentLayout.consumerSleepingOffset, 0)
    }
}
