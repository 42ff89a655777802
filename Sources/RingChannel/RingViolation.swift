/// A producer broke the ring's rules. The reader stops trusting the ring after the first one;
/// the supervisor quarantines the worker (kills it, logs this, restarts it on a fresh ring).
public struct RingViolation: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which rule was broken.
    public enum Kind: String, Sendable, CaseIterable {
        case headerChanged = "header changed"
        case headMoved = "head moved by producer"
        case tailBehindHead = "tail behind head"
        case tailBeyondCapacity = "tail beyond head + capacity"
        case tailMisaligned = "tail misaligned"
        case tailMovedBack = "tail moved backwards"
        case headerPastTail = "record header past tail"
        case lengthTooLarge = "length exceeds max record"
        case recordPastTail = "record runs past tail"
        case recordCrossesEnd = "record crosses the end of the ring"
        case padNotAtEnd = "PAD does not reach the end"
        case reservedType = "reserved type misuse"
        case flagsSet = "flags set"
        case afterEndOfStream = "record after end-of-stream"
    }

    /// Which rule was broken.
    public let kind: Kind
    /// The header field that failed (e.g. `length`, `tail`, `magic`).
    public let field: String
    /// Byte offset in the segment where the failing field or record lives.
    public let segmentOffset: UInt64
    /// The ring position involved (monotonic byte count), where there is one.
    public let position: UInt64
    /// What was found and what was allowed, in words.
    public let detail: String

    public init(_ kind: Kind, field: String, segmentOffset: UInt64, position: UInt64, detail: String) {
        self.kind = kind
        self.field = field
        self.segmentOffset = segmentOffset
        self.position = position
        self.detail = detail
    }

    /// E.g. `record at 0x1f40: length 9000000 exceeds max record 262144`.
    public var description: String {
        "\(kind == .headerChanged || kind == .headMoved || kind.rawValue.hasPrefix("tail") ? "header" : "record") at 0x\(String(segmentOffset, radix: 16)): \(detail)"
    }
}
