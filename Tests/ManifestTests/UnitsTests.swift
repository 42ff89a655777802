import Manifest
import Testing

@Suite("Units: durations and sizes")
struct UnitsTests {
    @Test(arguments: [
        ("0", Duration.zero), ("0s", .zero), ("50ms", .milliseconds(50)), ("5s", .seconds(5)),
        ("2m", .seconds(120)), ("1h", .seconds(3600)), ("250us", .microseconds(250)),
        ("7ns", .nanoseconds(7)), ("1.5s", .milliseconds(1500)), ("0.25ms", .microseconds(250)),
        ("1.0000000015s", .nanoseconds(1_000_000_001)), ("90m", .seconds(5400)),
    ])
    func durationsParse(_ text: String, _ expected: Duration) {
        #expect(Units.duration(text) == expected)
    }

    @Test(arguments: ["", "5", "s", "-1s", "+1s", "1.s", ".5s", "1.2.3s", "5 s", "5S", "5sec", "1h30m",
                      "5d", "٣s", "99999999999h", "1.0000000000000000001s"])
    func durationsRejected(_ text: String) {
        #expect(Units.duration(text) == nil)
    }

    @Test(arguments: [
        ("4096", UInt64(4096)), ("0", 0), ("4MiB", 4 << 20), ("256KiB", 256 << 10), ("1GiB", 1 << 30),
        ("2TiB", 2 << 40), ("12B", 12), ("3MiB", 3 << 20),
    ])
    func sizesParse(_ text: String, _ expected: UInt64) {
        #expect(Units.size(text) == expected)
    }

    @Test(arguments: ["", "MiB", "4MB", "64KB", "1GB", "4mib", "4 MiB", "1.5MiB", "-1", "4K", "99999999999TiB",
                      "18446744073709551616"])
    func sizesRejected(_ text: String) {
        #expect(Units.size(text) == nil)
    }

    @Test(arguments: [
        (Duration.zero, "0s"), (.milliseconds(50), "50ms"), (.seconds(30), "30s"), (.seconds(120), "2m"),
        (.milliseconds(1500), "1500ms"), (.seconds(7200), "2h"), (.nanoseconds(3), "3ns"), (.microseconds(-5), "-5us"),
    ])
    func durationsDescribe(_ duration: Duration, _ expected: String) {
        #expect(Units.describe(duration) == expected)
    }

    @Test(arguments: [
        (UInt64(0), "0B"), (4096, "4KiB"), (4 << 20, "4MiB"), (1 << 30, "1GiB"), (4097, "4097B"), (1536, "1536B"),
        (3 << 19, "1536KiB"),
    ])
    func sizesDescribe(_ bytes: UInt64, _ expected: String) {
        #expect(Units.describe(size: bytes) == expected)
    }

    /// What `describe` prints, `Units` reads back to the same value.
    @Test(arguments: [Duration.milliseconds(50), .seconds(90), .nanoseconds(123_456_789), .seconds(86_400)])
    func durationRoundTrip(_ duration: Duration) {
        #expect(Units.duration(Units.describe(duration)) == duration)
    }
}
