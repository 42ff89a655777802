import Manifest
import Testing

/// `stall_timeout`, on a worker and under `defaults`: a positive duration, absent by default.
@Suite("stall_timeout: parsing, inheritance and errors")
struct StallTimeoutTests {
    @Test func absentMeansNoStallDetection() throws {
        let manifest = try parse(worker())
        #expect(manifest.workers[0].stallTimeout == nil)
    }

    @Test(arguments: [
        ("30s", Duration.seconds(30)),
        ("300ms", .milliseconds(300)),
        ("1.5s", .milliseconds(1500)),
        ("2m", .seconds(120)),
        ("1ns", .nanoseconds(1)),
    ])
    func workerValueIsADuration(text: String, expected: Duration) throws {
        let manifest = try parse(worker("stall_timeout: \(text)"))
        #expect(manifest.workers[0].stallTimeout == expected)
    }

    @Test func defaultsApplyAndAWorkerOverrides() throws {
        let manifest = try parse("""
            version: 1
            defaults:
              stall_timeout: 30s
            workers:
              inherits:
                command: ringmaster-walk
              overrides:
                command: ringmaster-walk
                stall_timeout: 500ms
            """)
        let timeouts = Dictionary(uniqueKeysWithValues: manifest.workers.map { ($0.name, $0.stallTimeout) })
        #expect(timeouts["inherits"] == .seconds(30))
        #expect(timeouts["overrides"] == .milliseconds(500))
    }

    @Test func noneSwitchesAnInheritedTimeoutOff() throws {
        let manifest = try parse("""
            version: 1
            defaults:
              stall_timeout: 30s
            workers:
              quiet:
                command: ringmaster-walk
                stall_timeout: none
            """)
        #expect(manifest.workers[0].stallTimeout == nil)
    }

    static let invalid: [Invalid] = [
        Invalid("zero with a unit", worker("stall_timeout: 0s"),
                "m.yaml:5:20: workers.w.stall_timeout must be greater than 0 (got 0s)"),
        Invalid("bare zero", worker("stall_timeout: 0"),
                "m.yaml:5:20: workers.w.stall_timeout must be greater than 0 (got 0)"),
        Invalid("negative", worker("stall_timeout: -5s"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got '-5s')"),
        Invalid("no unit", worker("stall_timeout: 30"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got 30, which has no unit: use ns, us, ms, s, m or h)"),
        Invalid("a list", worker("stall_timeout: [30s]"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got a list)"),
        Invalid("a map", worker("stall_timeout: { after: 30s }"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got a map)"),
        Invalid("a boolean", worker("stall_timeout: true"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got true)"),
        Invalid("null", worker("stall_timeout: ~"),
                "m.yaml:5:20: workers.w.stall_timeout must be a duration such as 50ms, 5s, 2m or 1h (got null)"),
        Invalid("zero under defaults", "version: 1\ndefaults:\n  stall_timeout: 0ms\n" + worker().dropFirst(11),
                "m.yaml:3:18: defaults.stall_timeout must be greater than 0 (got 0ms)"),
        Invalid("misspelled", worker("stall_timout: 30s"),
                "m.yaml:5:5: workers.w.stall_timout is not a known key (did you mean 'stall_timeout'?)"),
        Invalid("misspelled under defaults", "version: 1\ndefaults:\n  stalltimeout: 30s\n" + worker().dropFirst(11),
                "m.yaml:3:3: defaults.stalltimeout is not a known key (did you mean 'stall_timeout'?)"),
    ]

    @Test(arguments: invalid)
    func invalidValuesAreReportedWithPositions(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test func aBadWorkerValueUnderValidDefaultsIsReportedOnce() {
        let yaml = "version: 1\ndefaults:\n  stall_timeout: 10s\n" + worker("stall_timeout: 0s").dropFirst(11)
        #expect(errorDescriptions(yaml) == ["m.yaml:7:20: workers.w.stall_timeout must be greater than 0 (got 0s)"])
    }
}
