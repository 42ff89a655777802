import SystemKit

extension WallClockTime {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-28T23:44:11.042Z`: fixed width (for
    /// years 0...9999), so log lines line up and sort as text. Finer digits are truncated.
    /// Pure: the proleptic Gregorian calendar, no time zone database, no leap seconds.
    public var rfc3339: String {
        var encoder = LogLineEncoder()
        var bytes: [UInt8] = []
        encoder.appendTimestamp(self, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Year, month (1...12) and day (1...31) of a day counted from 1970-01-01, after Howard
    /// Hinnant's `civil_from_days` (400-year eras of 146097 days, years starting in March).
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Writes worker log file lines as bytes:
/// `<RFC 3339 timestamp> <worker>.<instance> <stdout|stderr> <text>\n`.
///
/// It keeps the date and time of the last second it formatted, so the lines of a busy worker
/// cost a few byte copies each, not a calendar computation and a string per field (measured:
/// string formatting was most of the cost of a log file line).
public struct LogLineEncoder {
    private var cachedSecond = Int64.min
    /// `YYYY-MM-DDTHH:MM:SS.` of `cachedSecond`.
    private var cachedPrefix: [UInt8] = []

    /// An encoder with nothing cached.
    public init() {}

    /// Appends `line` as its log file line, newline included.
    public mutating func append(_ line: WorkerLogLine, to out: inout [UInt8]) {
        appendTimestamp(line.timestamp, to: &out)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: line.worker.utf8)
        out.append(UInt8(ascii: "."))
        Self.appendDecimal(Int64(line.instance), digits: 1, to: &out)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: line.stream.rawValue.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: line.text.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    public mutating func appendTimestamp(_ time: WallClockTime, to out: inout [UInt8]) {
        if time.seconds != cachedSecond {
            cachedSecond = time.seconds
            cachedPrefix = Self.secondPrefix(time.seconds)
        }
        out.append(contentsOf: cachedPrefix)
        Self.appendDecimal(Int64(time.nanoseconds / 1_000_000), digits: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    private static func secondPrefix(_ seconds: Int64) -> [UInt8] {
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let date = WallClockTime.civilDate(daysSinceEpoch: day)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        let fields: [(value: Int64, digits: Int, separator: Unicode.Scalar)] = [
            (date.year, 4, "-"), (date.month, 2, "-"), (date.day, 2, "T"),
            (second / 3600, 2, ":"), (second / 60 % 60, 2, ":"), (second % 60, 2, "."),
        ]
        for field in fields {
            appendDecimal(field.value, digits: field.digits, to: &out)
            out.append(UInt8(ascii: field.separator))
        }
        return out
    }

    /// `value`'s magnitude in decimal, zero-padded on the left to at least `digits`, written in
    /// place (no temporary array: this runs for every line).
    private static func appendDecimal(_ value: Int64, digits: Int, to out: inout [UInt8]) {
        var width = 1
        var probe = value.magnitude
        while probe >= 10 {
            probe /= 10
            width += 1
        }
        width = max(width, digits)
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var rest = value.magnitude
        var index = start + width - 1
        while rest > 0 {
            out[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
    }
}
