import Glibc

/// CLOCK_MONOTONIC in nanoseconds.
public enum MonotonicClock {
    /// Now, in nanoseconds since an arbitrary fixed point. The corresponding C function is `clock_gettime`.
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
