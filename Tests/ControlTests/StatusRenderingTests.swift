import ControlProtocol
import Testing

/// The pure parts of `status` and `top`: number formats, the table's alignment, the rates top
/// computes itself, and lines fitted to a terminal.
@Suite struct StatusRenderingTests {
    @Test(arguments: [(0.25, "0.3s"), (9.94, "9.9s"), (42, "42s"), (61, "1m01s"), (3599, "59m59s"), (3661, "1h01m"),
                      (90_061, "1d01h")])
    func durations(_ seconds: Double, _ shown: String) {
        #expect(StatusTable.duration(seconds) == shown)
    }

    @Test(arguments: [(0.0, "0"), (9999, "9999"), (12.5, "12.5"), (12_345, "12.3k"), (12_345_678, "12.3M"), (12_345_678_901, "12.3G")])
    func counts(_ value: Double, _ shown: String) {
        #expect(StatusTable.count(value) == shown)
    }

    @Test(arguments: [(UInt64(0), "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (3 << 20, "3.0 MiB"), (5 << 40, "5.0 TiB")])
    func byteSizes(_ value: UInt64, _ shown: String) {
        #expect(StatusTable.bytes(value) == shown)
    }

    @Test func columnsAreAlignedAndNumbersRightAligned() {
        let lines = StatusTable.align([["NAME", "STATE", "RECORDS"], ["w.0", "running", "5"], ["walker.12", "held", "12345"]])
        #expect(lines == [
            "NAME       STATE    RECORDS",
            "w.0        running        5",
            "walker.12  held       12345",
        ])
    }

    @Test func aReportRendersOneRowPerInstanceAndConsumer() {
        let instance = InstanceStatus(label: "w.0", state: "failed", reason: "exit 1 and restart policy is never", pid: nil, uptime: nil,
                                      restarts: 2, lastExit: "exit 1", records: 1500, bytes: 2048, rate: 0, ringUsed: 256, ringCapacity: 1024,
                                      blocked: 1.5, exits: ["exit_nonzero": 3], quarantines: 0)
        let report = StatusReport(pid: 42, manifest: "/srv/m.yaml", uptime: 75, stopping: false,
                                  workers: [WorkerStatus(name: "w", size: 1, instances: [instance])],
                                  consumers: [ConsumerStatus(name: "sink", plugin: "jsonl", records: 1500, errors: 0, lag: 7, queued: 1, routing: true)])
        #expect(StatusTable.header(report) == "ringmaster pid 42, /srv/m.yaml, up 1m15s: 1 failed")
        let lines = StatusTable.lines(report)
        #expect(lines.count == 5, "\(lines)")
        #expect(lines[1] == "w.0       failed (exit 1 and restart policy is never)    -       -         2  exit 1        1500  2.0 KiB       0   25%     1.5s",
                "\(lines[1])")
        #expect(lines[4] == "sink      jsonl      1500       0    7       1  yes", "\(lines[4])")
    }

    @Test func topComputesRatesOverAtLeastASecond() {
        var rates = RateTracker()
        #expect(rates.record("w.0", records: 100, at: 1_000_000_000) == nil, "one sample: no rate")
        #expect(rates.record("w.0", records: 150, at: 1_500_000_000) == 100, "50 records in 0.5 s")
        // The window starts at the newest sample at least a second old: at 2.5 s that is the one
        // of 1.5 s ((250 − 150) / 1 s), and still at 3.0 s ((400 − 150) / 1.5 s).
        #expect(rates.record("w.0", records: 250, at: 2_500_000_000) == 100)
        #expect(rates.record("w.0", records: 400, at: 3_000_000_000) == 250 / 1.5)
        // A count that went down is a new instance of that label: start over.
        #expect(rates.record("w.0", records: 10, at: 3_500_000_000) == nil)
    }

    @Test func linesAreFittedToTheTerminal() {
        #expect(TerminalText.fit("abcdef", 4) == "abcd")
        #expect(TerminalText.fit("a\u{1B}[2Jb\tc", 10) == "a?[2Jb?c", "control characters cannot reach the terminal")
        #expect(TerminalText.fit("ünïcode", 3) == "ünï")
    }
}
