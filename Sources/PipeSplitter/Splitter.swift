import Glibc

/// Where one record of the input ends.
public enum Framing: Equatable, Sendable {
    /// Items end with this byte (`\n` for lines, 0 for `--null`); the byte is not part of the item.
    case delimited(UInt8)
    /// Every `n` bytes; the last record may be shorter.
    case chunks(Int)
}

/// What happens to an item longer than the ring's max record.
public enum LongItemPolicy: String, Equatable, Sendable {
    /// Consecutive max-record pieces; they concatenate to the item.
    case split
    /// The first max-record bytes; the rest of the item (its delimiter included) is dropped.
    case truncate
    /// Stop with an error.
    case fail
}

/// Cuts a byte stream into records. Pure: it sees a window of input bytes and answers with the
/// next step; the caller owns the bytes, reads more, and commits the records.
///
/// The window always starts at the first byte not yet consumed, and the caller keeps unconsumed
/// bytes at its start when it reads more, so an item may span any number of reads. Every byte
/// of the input ends up in exactly one record or is dropped by a rule: a delimiter (unless
/// `keepDelimiter`), the tail of a truncated item.
public struct Splitter {
    public let framing: Framing
    /// The ring's max record: no record is longer.
    public let maxRecord: Int
    public let policy: LongItemPolicy
    /// Keep the delimiter at the end of the record (delimited framing only).
    public let keepDelimiter: Bool

    /// Where the splitter is inside the current item.
    private enum State: Equatable {
        /// At an item's first byte, or inside an item that fits so far.
        case inItem
        /// Inside an item longer than max record whose first pieces were emitted (split).
        case continuingSplit
        /// Inside an item longer than max record whose first max-record bytes were emitted (truncate).
        case droppingRest
    }
    private var state = State.inItem
    /// Leading bytes of the current window already known to hold no delimiter (so a long item
    /// arriving in small reads is searched once, not once per read).
    private var searchedClean = 0
    /// Items that ended so far (delimiter seen, or the last unterminated one), for messages.
    public private(set) var itemsEnded: UInt64 = 0

    /// One step through the window.
    public enum Step: Equatable, Sendable {
        /// The first `length` bytes of the window are one record; `consumed` bytes (the record's,
        /// plus a dropped delimiter) are used up. `pieceOfLongItem`: the item is longer than max
        /// record and this is a piece of it (split) or its cut-off start (truncate).
        case record(length: Int, consumed: Int, pieceOfLongItem: Bool)
        /// `consumed` bytes are dropped and make no record.
        case drop(consumed: Int)
        /// Nothing more can be cut from this window: read more input (at the end of the input: done).
        case exhausted
        /// Item number `item` (1-based) is longer than max record and the policy is `fail`.
        case tooLong(item: UInt64)
    }

    public init(framing: Framing, maxRecord: Int, policy: LongItemPolicy, keepDelimiter: Bool) {
        precondition(maxRecord >= 1, "max record must be at least 1")
        if case .chunks(let size) = framing { precondition(size >= 1 && size <= maxRecord, "chunk size must be 1...max record") }
        self.framing = framing
        self.maxRecord = maxRecord
        self.policy = policy
        self.keepDelimiter = keepDelimiter
    }

    /// The next step for `window` (the unconsumed input); `atEnd`: no byte follows it.
    /// After `.record` or `.drop`, the caller must start the next window `consumed` bytes later.
    public mutating func next(_ window: UnsafeRawBufferPointer, atEnd: Bool) -> Step {
        switch framing {
        case .chunks(let size):
            if window.count >= size { return ended(.record(length: size, consumed: size, pieceOfLongItem: false)) }
            if atEnd && !window.isEmpty { return ended(.record(length: window.count, consumed: window.count, pieceOfLongItem: false)) }
            return .exhausted
        case .delimited(let delimiter):
            return nextDelimited(window, delimiter: delimiter, atEnd: atEnd)
        }
    }

    private mutating func nextDelimited(_ window: UnsafeRawBufferPointer, delimiter: UInt8, atEnd: Bool) -> Step {
        if state == .droppingRest {
            if let end = find(delimiter, in: window, limit: window.count) {
                state = .inItem
                return ended(.drop(consumed: end + 1))
            }
            if atEnd { state = .inItem }
            return window.isEmpty ? .exhausted : consumed(.drop(consumed: window.count))
        }
        // The longest item content that fits a record (the kept delimiter takes one byte).
        let fitting = keepDelimiter ? maxRecord - 1 : maxRecord
        let piece = state == .continuingSplit
        if let end = find(delimiter, in: window, limit: fitting + 1) {
            state = .inItem
            let length = keepDelimiter ? end + 1 : end
            // A split item whose length is a multiple of max record ends with no bytes left.
            if piece && length == 0 { return ended(.drop(consumed: end + 1)) }
            return ended(.record(length: length, consumed: end + 1, pieceOfLongItem: piece))
        }
        if window.count > fitting {
            // No delimiter within fitting + 1 bytes: the item does not fit one record.
            switch policy {
            case .fail: return .tooLong(item: itemsEnded + 1)
            case .split: state = .continuingSplit
            case .truncate: state = .droppingRest
            }
            return consumed(.record(length: maxRecord, consumed: maxRecord, pieceOfLongItem: true))
        }
        if atEnd && !window.isEmpty {
            // The last item has no delimiter: it is a record all the same.
            state = .inItem
            return ended(.record(length: window.count, consumed: window.count, pieceOfLongItem: piece))
        }
        if atEnd { state = .inItem }
        return .exhausted
    }

    /// The offset of the first `delimiter` among the first `limit` bytes of `window`, skipping
    /// the prefix already searched.
    private mutating func find(_ delimiter: UInt8, in window: UnsafeRawBufferPointer, limit: Int) -> Int? {
        let end = min(window.count, limit)
        let from = min(searchedClean, end)
        if let found = Self.firstIndex(of: delimiter, in: UnsafeRawBufferPointer(rebasing: window[from..<end])) {
            return from + found
        }
        searchedClean = end
        return nil
    }

    /// A step that ends an item.
    private mutating func ended(_ step: Step) -> Step {
        itemsEnded += 1
        return consumed(step)
    }

    /// A step that moves the window: what was searched is no longer at its start.
    private mutating func consumed(_ step: Step) -> Step {
        searchedClean = 0
        return step
    }

    /// The offset of the first `byte` in `bytes`, if any. The corresponding C function is `memchr`.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0,
              let found = memchr(base, CInt(byte), bytes.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }
}
