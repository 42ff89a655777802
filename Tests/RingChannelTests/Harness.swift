import Glibc
import RingChannel
import RingmasterTestSupport

/// Where the helper executables are: beside the test binary (same build configuration).
let helperDirectory = executableDirectory()
let testProducerPath = helperDirectory + "/ringmaster-test-producer"

/// What a reader saw from one producer run.
struct ReadOutcome {
    var sequences: [UInt64] = []
    var corrupt = 0
    var checkpoints: [String] = []
    var sawEndOfStream = false
    var violation: RingViolation?
}

/// Runs the test producer on a fresh channel of `kind` and reads until it exits and the ring is
/// empty. Verifies nothing itself: returns what was read and how the producer ended.
func runProducer(kind: ChannelKind, geometry: RingGeometry = try! RingGeometry(capacity: 64 << 10, maxRecord: 4096),
                 arguments: [String], environment: [String: String] = [:],
                 onRecord: ((RingRecord) -> Void)? = nil) throws -> (ReadOutcome, ExitStatus) {
    let channel = try Channel.create(kind: kind, label: "test.0", geometry: geometry)
    let contract = channel.childContract()
    let child = try spawnChild(testProducerPath, arguments,
                                         environment: contract.environment.merging(environment) { $1 },
                                         inherited: contract.inherited)
    var reader = channel.makeReader()
    var outcome = ReadOutcome()
    var status: ExitStatus?
    func drainOnce() -> Bool {
        do {
            let summary = try reader.drain { record in
                onRecord?(record)
                switch record.type {
                case .checkpoint: outcome.checkpoints.append(String(decoding: record.payload, as: UTF8.self))
                case .endOfStream: outcome.sawEndOfStream = true
                case .data:
                    if let sequence = TestRecord.verify(record.payload) { outcome.sequences.append(sequence) } else { outcome.corrupt += 1 }
                default: break
                }
            }
            reader.release(through: summary.end)
            return summary.bytes > 0
        } catch {
            outcome.violation = error
            return false
        }
    }
    while status == nil {
        if !drainOnce() {
            if outcome.violation != nil { child.kill(SIGKILL) }
            status = child.poll()
            if status == nil { _ = try reader.waitForData(timeoutNanoseconds: 20_000_000) }
        }
    }
    // The producer is gone: everything it committed is in the ring.
    while drainOnce() {}
    return (outcome, status!)
}
