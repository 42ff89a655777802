import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// A `posix` segment cannot be sealed, so a worker can shrink it under the supervisor's mapping.
/// Reading it then raises SIGBUS, which must cost the worker a quarantine, not the supervisor
/// its life; the other worker is unaffected.
@Suite struct TruncatedSegmentTests {
    @Test func aWorkerThatShrinksItsPosixSegmentIsQuarantinedAndTheRunGoesOn() throws {
        let scratch = Scratch()
        let finished = try ringmaster(manifest: """
            version: 1
            defaults:
              channel: { kind: posix, ring: 64KiB, max_record: 1KiB }
              restart: { policy: on-failure, backoff: { initial: 10ms } }
            workers:
              shrink:
                command: ringmaster-test-producer
                args: ["--records", "2000", "--checkpoint-every", "100", "--truncate-after", "500", "--crash-generations", "1"]
                format: bytes
                to: [file]
              healthy:
                command: ringmaster-test-producer
                args: ["--records", "2000"]
                format: bytes
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """, in: scratch)
        #expect(finished.status == .exited(0), "the supervisor survived: \(finished.status); \(finished.stderr.suffix(2000))")
        #expect(finished.stderr.contains("quarantining shrink.0: the worker truncated its posix segment"), "\(finished.stderr.suffix(2000))")
        #expect(finished.stderr.contains("generation=1"), "restarted on a fresh ring")
        let delivered = readDelivered(scratch.read("out.jsonl"))
        let healthy = delivered.filter { $0.worker == "healthy" }.compactMap(\.payloadSequence)
        #expect(healthy.count == 2000 && healthy.elementsEqual((0..<2000).map { UInt64($0) }),
                "healthy: every record once, in order (\(healthy.count) delivered)")
        // The shrinking worker destroyed the pages of records it had committed and the consumers
        // had not read yet: those arrive zero-filled (their checksum fails) or not at all. What
        // does arrive intact is never duplicated, and the restarted worker finishes the stream.
        let shrink = delivered.filter { $0.worker == "shrink" }.compactMap(\.payloadSequence)
        #expect(zip(shrink, shrink.dropFirst()).allSatisfy { $0 < $1 }, "shrink: intact records in order, none twice")
        #expect(shrink.last == 1999, "shrink: the restarted worker finished (last \(shrink.last.map(String.init) ?? "none"))")
    }
}
