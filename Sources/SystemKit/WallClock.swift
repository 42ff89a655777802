import Glibc

/// A moment on CLOCK_REALTIME: whole seconds and nanoseconds since the Unix epoch (UTC).
///
/// For timestamps people read (log lines), never for measuring time: the wall clock can jump.
/// `MonotonicClock` is the one for intervals.
public struct WallClockTime: Hashable, Sendable, Comparable {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before it).
    public var seconds: Int64
    /// Nanoseconds into that second, 0...999_999_999.
    public var nanoseconds: Int32

    /// Makes a time from its parts; `nanoseconds` must be in 0...999_999_999.
    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        precondition((0...999_999_999).contains(nanoseconds), "nanoseconds out of range: \(nanoseconds)")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Now. The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
    public static func now() -> WallClockTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallClockTime(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    public static func < (a: WallClockTime, b: WallClockTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}
