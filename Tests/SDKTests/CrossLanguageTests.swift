import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The example producers of all three SDKs under one supervisor, and each one SIGKILLed
/// mid-stream: every record reaches the consumer exactly once, in order.
@Suite(.serialized) struct CrossLanguageTests {
    @Test func cPythonAndSwiftProducersSideBySideInOneManifest() throws {
        let scratch = Scratch()
        let records = 20_000
        var workers = ""
        for language in ExampleProducer.allCases {
            workers += try language.worker(name: language.rawValue, arguments: ["--records", "\(records)", "--batch", "16", "--size", "64"],
                                           instances: 2)
        }
        // The Python producer on a `posix` channel (shm name and named semaphores), the others on memfd.
        workers = workers.replacingOccurrences(of: "  python:\n", with: "  python:\n    channel: { kind: posix, ring: 64KiB, max_record: 1KiB }\n")
        let run = try ringmaster(manifest: """
            version: 1
            defaults:
              channel: { kind: memfd, ring: 64KiB, max_record: 1KiB }
            workers:
            \(workers)
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """, in: scratch, limit: 300)
        #expect(run.status == .exited(0), "\(run.stderr.suffix(3000))")
        let output = scratch.read("out.jsonl")
        for language in ExampleProducer.allCases {
            let problems = language.verify(jsonl: output, worker: language.rawValue, instances: 2, records: records)
            #expect(problems.isEmpty, "\(language): \(problems.prefix(5))")
        }
        #expect(output.split(separator: "\n").count == 3 * 2 * records)
    }

    @Test(arguments: ExampleProducer.allCases)
    func producerSIGKILLedMidStreamLosesNoCommittedRecord(_ language: ExampleProducer) throws {
        let scratch = Scratch()
        let records = 6_000
        let worker = try language.worker(
            name: "w", arguments: ["--records", "\(records)", "--batch", "10", "--checkpoint-every", "50", "--pace-us", "3000"],
            extra: "restart: { policy: on-failure, backoff: { initial: 10ms } }")
        let run = try SupervisorRun(manifest: """
            version: 1
            workers:
            \(worker)
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")), flush_interval: 10ms }
            """, in: scratch)
        let pid = run.workerPID("w.0")
        #expect(pid != nil, "no start logged: \(run.stderr.suffix(2000))")
        // Mid-stream: some records are through, most are still to come.
        #expect(scratch.awaitLines("out.jsonl", atLeast: 300))
        if let pid { kill(pid, SIGKILL) }
        #expect(run.finish(limit: 120) == .exited(0), "\(run.stderr.suffix(3000))")
        #expect(run.stderr.contains("how=SIGKILL"), "the kill landed while the producer ran")
        #expect(run.workerPID("w.0", generation: 1, limit: 0) != nil, "restarted as generation 1")
        let problems = language.verify(jsonl: scratch.read("out.jsonl"), worker: "w", instances: 1, records: records)
        #expect(problems.isEmpty, "\(language): \(problems.prefix(5))")
    }
}
