import Testing
import Glibc
import RingChannel
import RingmasterTestSupport

/// One crash run of the test producer: it commits `records` records, then SIGKILLs itself
/// (after writing record `records` into the ring without committing it, with `midRecord`).
struct CrashRun: Sendable, CustomTestStringConvertible {
    let index: Int
    let kind: ChannelKind
    let capacity: UInt64
    let records: UInt64
    let midRecord: Bool
    let batch: Bool
    let maxSize: Int
    let seed: UInt64

    var arguments: [String] {
        // More records than the crash point, so the run never ends on its own first.
        var result = ["--records", "\(records + 1 + UInt64(index % 7))", "--crash-after", "\(records)",
                      "--min-size", "16", "--max-size", "\(maxSize)", "--seed", "\(seed)"]
        if midRecord { result.append("--crash-mid-record") }
        if batch { result.append("--batch") }
        return result
    }

    var testDescription: String {
        "#\(index) \(kind) ring \(capacity) crash after \(records)\(midRecord ? " mid-record" : "")\(batch ? " batch" : "") sizes ≤\(maxSize)"
    }

    /// 56 runs from a fixed seed: both kinds, with and without batches and mid-record crashes.
    static let all: [CrashRun] = {
        var rng = SeededRandom(seed: 0xC0FFEE)
        return (0..<56).map { index in
            let capacity: UInt64 = [4096, 16384, 65536][Int(rng.below(3))]
            let records: UInt64 = switch rng.below(10) {
            case 0: rng.below(3)                  // crash before or right after the first record
            case 1: 10_000 + rng.below(40_000)    // many wraps
            default: rng.below(5000)
            }
            return CrashRun(index: index, kind: index % 2 == 0 ? .memfd : .posix, capacity: capacity, records: records,
                            midRecord: (index / 2) % 2 == 1, batch: (index / 4) % 2 == 1,
                            maxSize: 16 + Int(rng.below(UInt64(capacity / 8) - 15)), seed: rng.next() % 1_000_000)
        }
    }()
}

/// Suites that send or receive SIGKILL run one test at a time.
@Suite(.serialized) struct CrashTests {
    @Test(arguments: CrashRun.all)
    func everyCommittedRecordSurvivesSIGKILL(run: CrashRun) throws {
        let geometry = try RingGeometry(capacity: run.capacity, maxRecord: UInt32(run.capacity / 8))
        var session = try ProducerSession(kind: run.kind, geometry: geometry, arguments: run.arguments)
        let status = try session.readUntilExit()
        let outcome = session.outcome
        #expect(status == .signaled(SIGKILL))
        #expect(outcome.violation == nil)
        #expect(outcome.corrupt == 0)
        #expect(outcome.sequences.count == Int(run.records))
        #expect(outcome.sequences.elementsEqual(0..<run.records), "sequences are not exactly 0..<\(run.records)")
        #expect(!outcome.sawEndOfStream)
        #expect(session.reader.pendingBytes == 0)

        if run.midRecord {
            // Record N is really in the ring, whole, just past the published tail: written, never committed.
            let raw = RawSegment(session.channel.segment)
            let tail = raw.tail
            let maxSize = min(run.maxSize, Int(run.capacity / 8))
            let length = TestRecord.length(sequence: run.records, seed: run.seed, minimum: 16, maximum: maxSize)
            let frame = SegmentLayout.frameSize(payloadLength: UInt64(length))
            let start = run.capacity - tail % run.capacity < frame ? tail + (run.capacity - tail % run.capacity) : tail
            let payload = UnsafeRawBufferPointer(start: raw.base + raw.offset(of: start) + 8, count: length)
            #expect(TestRecord.verify(payload) == run.records, "the uncommitted record \(run.records) is not where it was written")
            #expect(tail == session.reader.position)
        }
    }

    @Test(arguments: [
        (ChannelKind.memfd, UInt64(1)), (.posix, 2), (.memfd, 3), (.posix, 4), (.memfd, 5), (.posix, 6),
    ])
    func externalSIGKILLAtARandomMoment(kind: ChannelKind, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let capacity: UInt64 = rng.chance(1, in: 2) ? 4096 : 65536
        let geometry = try RingGeometry(capacity: capacity, maxRecord: UInt32(capacity / 8))
        var arguments = ["--forever", "--sleep-ms", "0", "--min-size", "16", "--max-size", "\(16 + rng.below(capacity / 8 - 16))",
                         "--seed", "\(seed)"]
        if rng.chance(1, in: 2) { arguments.append("--batch") }
        var session = try ProducerSession(kind: kind, geometry: geometry, arguments: arguments)
        let target = Int(1 + rng.below(50_000))
        #expect(try session.read(atLeast: target))
        let readBeforeKill = session.outcome.sequences.count
        // Let it run on for a random moment (it may be mid-record, mid-batch or blocked on a full ring).
        for _ in 0..<rng.below(4) { _ = session.drainOnce() }
        if rng.chance(1, in: 2) { usleep(UInt32(rng.below(3000))) }
        session.child.kill(SIGKILL)
        let status = try session.readUntilExit()
        let outcome = session.outcome
        #expect(status == .signaled(SIGKILL))
        #expect(outcome.violation == nil)
        #expect(outcome.corrupt == 0)
        #expect(!outcome.sawEndOfStream)
        let k = outcome.sequences.count
        #expect(k >= readBeforeKill)
        #expect(k >= target)
        #expect(outcome.sequences.elementsEqual(0..<UInt64(k)), "sequences are not exactly 0..<\(k)")
    }
}
