/// Parsing and printing the manifest's durations and sizes.
///
/// Durations: a non-negative decimal number and one unit, `ns`, `us`, `ms`, `s`, `m` or `h`
/// (`50ms`, `5s`, `1.5s`, `2m`, `1h`, `250us`); a bare `0` also means zero. No compound forms
/// (`1h30m`) and no sign. Precision is one nanosecond; finer fractions are truncated.
///
/// Sizes: a non-negative integer of bytes, optionally followed by a binary unit: `B`, `KiB`,
/// `MiB`, `GiB` or `TiB` (`4096`, `64KiB`, `4MiB`). Decimal units (`KB`, `MB`, `GB`) are rejected
/// on purpose: for ring sizes, which must be powers of two, `4MB` is almost always a mistake.
public enum Units {
    /// Duration units, largest first, with their length in nanoseconds.
    private static let durationUnits: [(suffix: String, nanoseconds: UInt64)] = [
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
        ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
    ]

    /// Size units, largest first, with their length in bytes.
    private static let sizeUnits: [(suffix: String, bytes: UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    /// Parses `text` as a duration, or returns nil when it is not one (or does not fit 64-bit
    /// nanoseconds).
    public static func duration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        let numberEnd = text.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? text.endIndex
        let number = text[..<numberEnd]
        let suffix = text[numberEnd...]
        guard let unit = durationUnits.first(where: { $0.suffix == suffix })?.nanoseconds else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, let integer = UInt64(whole) else {
            return nil
        }
        var total = integer.multipliedReportingOverflow(by: unit)
        guard !total.overflow else { return nil }
        if parts.count == 2 {
            let fraction = parts[1]
            // 10^19 would overflow UInt64; more than 18 fraction digits is noise anyway.
            guard !fraction.isEmpty, fraction.count <= 18, let numerator = UInt64(fraction) else { return nil }
            var denominator: UInt64 = 1
            for _ in 0..<fraction.count { denominator *= 10 }
            // numerator < denominator, so the quotient is below `unit` and cannot overflow.
            let part = denominator.dividingFullWidth(unit.multipliedFullWidth(by: numerator)).quotient
            total = total.partialValue.addingReportingOverflow(part)
            guard !total.overflow else { return nil }
        }
        guard total.partialValue <= UInt64(Int64.max) else { return nil }
        return .nanoseconds(Int64(total.partialValue))
    }

    /// Parses `text` as a size in bytes, or returns nil when it is not one (or overflows).
    public static func size(_ text: String) -> UInt64? {
        let numberEnd = text.firstIndex { !($0.isASCII && $0.isNumber) } ?? text.endIndex
        guard numberEnd != text.startIndex, let number = UInt64(text[..<numberEnd]) else { return nil }
        let suffix = text[numberEnd...]
        if suffix.isEmpty { return number }
        guard let unit = sizeUnits.first(where: { $0.suffix == suffix })?.bytes else { return nil }
        let product = number.multipliedReportingOverflow(by: unit)
        return product.overflow ? nil : product.partialValue
    }

    /// The shortest exact spelling of `duration` in one unit: `50ms`, `30s`, `2m`, `1500ms`, `0s`.
    /// Negative durations print with a leading `-`; `Units.duration` does not read those back.
    public static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanoseconds.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !nanoseconds.overflow, !total.overflow else { return "\(duration)" }
        if total.partialValue == 0 { return "0s" }
        let sign = total.partialValue < 0 ? "-" : ""
        let magnitude = total.partialValue.magnitude
        let unit = durationUnits.first { magnitude % $0.nanoseconds == 0 }!
        return "\(sign)\(magnitude / unit.nanoseconds)\(unit.suffix)"
    }

    /// The shortest exact spelling of `bytes` in one binary unit: `4MiB`, `256KiB`, `4097B`.
    public static func describe(size bytes: UInt64) -> String {
        if bytes == 0 { return "0B" }
        let unit = sizeUnits.first { bytes % $0.bytes == 0 }!
        return "\(bytes / unit.bytes)\(unit.suffix)"
    }

    /// The units a duration may carry, for error messages.
    static let durationSuffixes = "ns, us, ms, s, m or h"
    /// The units a size may carry, for error messages.
    static let sizeSuffixes = "B, KiB, MiB, GiB or TiB"
}
