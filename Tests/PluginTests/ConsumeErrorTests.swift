import Foundation
import RingmasterTestSupport
import Supervisor
import TestHarness
import Testing

/// A plugin that fails on a batch: the host retries it (ring held) or stops the route; records
/// are never dropped silently, and the exit status tells.
@Suite struct ConsumeErrorTests {
    /// `out` is absolute: the C test plugin opens it as given.
    func manifest(fail: Int, onError: String?, out: String, records: Int = 200) -> String {
        let policy = onError.map { ", on_error: \($0)" } ?? ""
        return """
            version: 1
            workers:
              w:
                command: ringmaster-test-producer
                args: ["--records", "\(records)"]
                format: bytes
                to: [c, file]
            consumers:
              c: { plugin: ./libtestplugin.so, out: \(out), fail: \(fail)\(policy) }
              file: { plugin: jsonl, path: all.jsonl }
            """
    }

    @Test(arguments: [nil, "retry"])
    func failedBatchesAreRetriedAndNothingIsLost(onError: String?) throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(into: scratch.path)
        let run = try ringmaster(manifest: manifest(fail: 3, onError: onError, out: scratch.file("out.txt")), in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        let sequences = pluginLines(scratch.read("out.txt")).map { $0.split(separator: " ")[1] }
        #expect(sequences == (0..<200).map { "\($0)"[...] })
        #expect(run.stderr.contains("consumer c failed on a batch from w.0: injected failure 1; retrying"))
        #expect(run.stderr.contains("injected failure 3; retrying"))
        #expect(!run.stderr.contains("stopped"))
    }

    @Test func stopEndsTheRouteAndTheExitStatusSaysSo() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(into: scratch.path)
        let run = try ringmaster(manifest: manifest(fail: 1, onError: "stop", out: scratch.file("out.txt")), in: scratch)
        #expect(run.status == .exited(4), "\(run.stderr)")
        #expect(run.stderr.contains("consumer c failed on a batch from w.0: injected failure 1"))
        #expect(run.stderr.contains("consumer c stopped after an error: records are no longer routed to it"))
        #expect(!run.stderr.contains("retrying"))
        #expect(scratch.read("out.txt").isEmpty)
        // The other consumer on the same route still gets every record.
        #expect(scratch.read("all.jsonl").split(separator: "\n").count == 200)
    }

    @Test func retriesAreBoundedThenTheRouteStops() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(into: scratch.path)
        let run = try ringmaster(manifest: manifest(fail: 1000, onError: "retry", out: scratch.file("out.txt"), records: 20), in: scratch)
        #expect(run.status == .exited(4), "\(run.stderr)")
        #expect(run.stderr.contains("injected failure 5; retrying"))
        #expect(run.stderr.contains("consumer c failed on a batch from w.0: injected failure 6"))
        #expect(run.stderr.contains("consumer c stopped after an error"))
        #expect(scratch.read("all.jsonl").split(separator: "\n").count == 20)
    }

    @Test(arguments: [(1, 10), (2, 40), (3, 160), (4, 640), (5, 1000)])
    func retryBackoffGrowsAndIsCapped(attempt: Int, milliseconds: Int) {
        #expect(ConsumerErrorPolicy.default.delay(beforeRetry: attempt) == .milliseconds(milliseconds))
    }

    @Test func noRetryBeyondTheLimitOrUnderStop() {
        #expect(ConsumerErrorPolicy.default.delay(beforeRetry: 6) == nil)
        #expect(ConsumerErrorPolicy.stop.delay(beforeRetry: 1) == nil)
    }
}
