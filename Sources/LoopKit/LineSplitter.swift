/// Splits a byte stream (a child's stdout or stderr) into lines, with bounded memory.
///
/// - Lines end at `\n`; a `\r` right before the `\n` is dropped too (CRLF output).
/// - A line longer than `maxLineLength` bytes is emitted in pieces of at most `maxLineLength` bytes,
///   so a flood without newlines cannot grow memory: at most `maxLineLength` bytes (plus one held
///   `\r`) are ever buffered. A piece ends before a UTF-8 sequence that would straddle the cut when
///   the bytes allow it, so cutting does not break a valid character.
/// - Invalid UTF-8 is repaired with U+FFFD (`String(decoding:as:)`); the length limit counts input
///   bytes, so a repaired piece may be longer in UTF-8 than `maxLineLength`.
/// - `finish` emits the last line when the stream ended without a newline.
///
/// A pure value: no I/O, no clock.
public struct LineSplitter {
    /// The longest piece emitted, in input bytes.
    public let maxLineLength: Int
    /// The current line's bytes, never more than `maxLineLength`.
    private var buffer: [UInt8] = []
    /// A `\r` seen last and not yet known to end a CRLF.
    private var heldCarriageReturn = false

    private static let newline: UInt8 = 0x0A
    private static let carriageReturn: UInt8 = 0x0D

    /// Creates a splitter that emits lines (or pieces of longer lines) of at most `maxLineLength`
    /// bytes. `maxLineLength` must be positive.
    public init(maxLineLength: Int = 16384) {
        precondition(maxLineLength > 0, "maxLineLength must be positive (got \(maxLineLength))")
        self.maxLineLength = maxLineLength
        buffer.reserveCapacity(maxLineLength)
    }

    /// Bytes held for the current, unfinished line (at most `maxLineLength`, plus a held `\r`).
    public var pendingByteCount: Int { buffer.count + (heldCarriageReturn ? 1 : 0) }

    /// Consumes `bytes`, calling `emit` for every complete line (without its line ending) and for
    /// every full piece of an over-long line.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (String) -> Void) {
        var start = 0
        while start < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            if let newlineIndex = rest.firstIndex(of: Self.newline) {
                appendSegment(UnsafeRawBufferPointer(rebasing: rest[..<newlineIndex]), emit)
                heldCarriageReturn = false  // CRLF: the \r belongs to the line ending
                emitLine(emit)
                start += newlineIndex + 1
            } else {
                appendSegment(rest, emit)
                break
            }
        }
    }

    /// Ends the stream: emits the unfinished last line, if any (a held `\r` stays part of it).
    public mutating func finish(_ emit: (String) -> Void) {
        if heldCarriageReturn {
            heldCarriageReturn = false
            append(CollectionOfOne(Self.carriageReturn), emit)
        }
        if !buffer.isEmpty { emitLine(emit) }
    }

    /// Appends bytes that contain no newline, holding back a trailing `\r`.
    private mutating func appendSegment(_ segment: UnsafeRawBufferPointer, _ emit: (String) -> Void) {
        guard !segment.isEmpty else { return }
        if heldCarriageReturn {
            heldCarriageReturn = false
            append(CollectionOfOne(Self.carriageReturn), emit)
        }
        if segment[segment.count - 1] == Self.carriageReturn {
            append(UnsafeRawBufferPointer(rebasing: segment.dropLast()), emit)
            heldCarriageReturn = true
        } else {
            append(segment, emit)
        }
    }

    /// Appends line bytes, emitting a full piece whenever the buffer would exceed the limit.
    private mutating func append<Bytes: Collection>(_ bytes: Bytes, _ emit: (String) -> Void)
    where Bytes.Element == UInt8 {
        var rest = bytes[...]
        while let next = rest.first {
            if buffer.count == maxLineLength { emitPiece(before: next, emit) }
            let room = maxLineLength - buffer.count
            let taken = rest.prefix(room)
            buffer.append(contentsOf: taken)
            rest = rest[taken.endIndex...]
        }
    }

    /// Emits a full buffer as a piece of an over-long line. When `next` continues a UTF-8 sequence
    /// that started in the last three buffered bytes, the sequence moves to the next piece.
    private mutating func emitPiece(before next: UInt8, _ emit: (String) -> Void) {
        var cut = buffer.count
        if Self.isContinuation(next) {
            var index = buffer.count - 1
            while index > 0, index >= buffer.count - 3, Self.isContinuation(buffer[index]) { index -= 1 }
            if index > 0, index >= buffer.count - 3, buffer[index] >= 0xC0 { cut = index }
        }
        emit(String(decoding: buffer[..<cut], as: UTF8.self))
        buffer.removeFirst(cut)
    }

    private mutating func emitLine(_ emit: (String) -> Void) {
        emit(String(decoding: buffer, as: UTF8.self))
        buffer.removeAll(keepingCapacity: true)
    }

    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}
