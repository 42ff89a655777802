import ArgumentParser
import Glibc
import RingChannel
import RingmasterTestSupport

/// `ringmaster demo`: one producer process streams checksummed records through a ring of each
/// kind to this process, which verifies order, count and checksums and prints what it saw.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream records from a producer process through a shared-memory ring and verify them.",
        discussion: """
            Runs the test producer (built beside this binary) once per channel kind: a sealed \
            memfd with an eventfd pair, and a POSIX segment with named semaphores. \
            Exit codes: 0 every record arrived intact and in order; 1 otherwise.
            """
    )

    @Option(help: "Records to send per channel kind.")
    var records = 2_000_000

    @Option(help: "Largest payload in bytes (records are 16 bytes up to this, sizes random).")
    var maxSize = 256

    @Option(help: "Ring capacity in bytes (a power of two ≥ 4096).")
    var ring = 1 << 20

    @Option(help: "Channel kinds to run: memfd, posix, or both.")
    var kind: [String] = ["memfd", "posix"]

    func validate() throws {
        guard records >= 0 else { throw ValidationError("--records must be ≥ 0") }
        guard maxSize >= 16 else { throw ValidationError("--max-size must be ≥ 16") }
        for k in kind where ChannelKind(rawValue: k) == nil {
            throw ValidationError("--kind must be memfd or posix (got \(k))")
        }
    }

    func run() throws {
        let geometry: RingGeometry
        do {
            geometry = try RingGeometry(capacity: UInt64(ring), maxRecord: UInt32(min(maxSize, ring / 8)))
        } catch { throw ValidationError("\(error)") }
        var failed = false
        for kind in kind.compactMap(ChannelKind.init(rawValue:)) {
            let report = try stream(kind: kind, geometry: geometry)
            print(report.line)
            failed = failed || !report.ok
        }
        if failed { throw ExitCode(1) }
    }

    private struct Report {
        var ok: Bool
        var line: String
    }

    private func stream(kind: ChannelKind, geometry: RingGeometry) throws -> Report {
        let channel = try Channel.create(kind: kind, label: "demo.0", geometry: geometry)
        let contract = channel.childContract()
        let producerPath = executableDirectory() + "/ringmaster-test-producer"
        let started = MonotonicClock.now()
        let child = try SpawnedProcess.spawn(producerPath, ["--records", "\(records)", "--max-size", "\(maxSize)", "--batch"],
                                             environment: contract.environment, inherited: contract.inherited)
        var reader = channel.makeReader()
        var expected: UInt64 = 0
        var bad = 0
        var bytes: UInt64 = 0
        var wakeups = 0
        var endOfStream = false
        var violation: RingViolation?
        var status: ExitStatus?
        while true {
            var summary = DrainSummary()
            do throws(RingViolation) {
                summary = try reader.drain { record in
                    guard record.type == .data else {
                        endOfStream = endOfStream || record.type == .endOfStream
                        return
                    }
                    bytes += UInt64(record.payload.count)
                    if TestRecord.verify(record.payload) == expected { expected += 1 } else { bad += 1 }
                }
            } catch {
                violation = error
                child.kill(SIGKILL)
            }
            reader.release(through: summary.end)
            if summary.records > 0 { continue }
            if status != nil || violation != nil { break }
            status = child.poll()
            if status == nil {
                wakeups += 1
                _ = try reader.waitForData(timeoutNanoseconds: 100_000_000)
            }
        }
        status = status ?? child.wait()
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        let ok = violation == nil && bad == 0 && expected == UInt64(records) && endOfStream && status == .exited(0)
        let rate = Double(expected) / seconds
        var line = "\(kind.rawValue): \(expected) of \(records) records, \(bytes) payload bytes in \(formatted(seconds)) s "
        line += "(\(formatted(rate / 1e6)) M records/s, \(formatted(Double(bytes) / seconds / 1e6)) MB/s), "
        line += "\(bad) corrupt or out of order, end-of-stream \(endOfStream ? "seen" : "missing"), producer \(status!), "
        line += "reader slept \(wakeups) times — \(ok ? "OK" : "FAILED")"
        if let violation { line += "\n  violation: \(violation)" }
        return Report(ok: ok, line: line)
    }

    private func formatted(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
