import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The Python producer SDK (sdk/python/ringmaster_producer.py): its conformance runner and unit
/// tests in both fence modes, and the Python example producer (examples/python-producer) under
/// `ringmaster run` in both modes on both channel kinds, with a killed supervisor, and without a
/// supervisor. The SIGKILL mid-stream and the cross-language run are in CrossLanguageTests.
@Suite(.serialized) struct PythonSDKTests {
    static let example = packageRoot + "/examples/python-producer/producer.py"
    /// The fence modes the SDK has on this machine (x86-tso only on x86-64).
    static let modes = ["libatomic"] + (machineName == "x86_64" ? ["tso"] : [])
    static let conformance = packageRoot + "/sdk/python/tests/conformance.py"

    @Test(arguments: modes) func conformanceRunnerPassesEveryVector(mode: String) throws {
        let scratch = Scratch()
        let vectors = try Vector.all()
        #expect(vectors.count >= 8)
        let result = try python([Self.conformance] + vectors.map(\.path), in: scratch, mode: mode)
        #expect(result.status == .exited(0), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == vectors.map { "ok \($0.name)" }, "\(result.stdout)")
    }

    @Test func conformanceRunnerReportsADifferingImage() throws {
        let scratch = Scratch()
        let original = try String(contentsOfFile: packageRoot + "/conformance/vectors/worked-example.vec", encoding: .utf8)
        let changed = original.replacingOccurrences(of: "00001000 2800000001000000", with: "00001000 2800000002000000")
        try #require(changed != original, "the worked example's image no longer holds the line this test changes")
        let result = try python([Self.conformance, scratch.write("broken.vec", changed)], in: scratch)
        #expect(result.status == .exited(1))
        #expect(result.stdout.hasPrefix("FAIL worked-example: line "), "\(result.stdout)")
        #expect(result.stdout.contains("offset 0x1004: expected 0x02, got 0x01"), "\(result.stdout)")
    }

    @Test(arguments: modes) func unitTestsPass(mode: String) throws {
        let result = try python([packageRoot + "/sdk/python/tests/test_sdk.py"], in: Scratch(), mode: mode)
        #expect(result.status == .exited(0), "\(result.stderr.suffix(3000))")
        #expect(result.stderr.contains("\nOK"), "\(result.stderr.suffix(3000))")
    }

    /// Both fence modes on both channel kinds (eventfds on memfd; named semaphores on posix),
    /// two instances through a 64 KiB ring (backpressure), every record once and in order.
    @Test(arguments: modes, ["memfd", "posix"])
    func exampleUnderTheSupervisorDeliversEveryRecordInOrder(mode: String, kind: String) throws {
        let scratch = Scratch()
        let records = 20_000
        let run = try ringmaster(manifest: manifest(scratch, arguments: ["--records", "\(records)", "--batch", "16", "--size", "100"],
                                                    instances: 2, extra: "channel: { kind: \(kind), ring: 64KiB, max_record: 1KiB }"),
                                 in: scratch, environment: ["PY_RINGMASTER_ATOMICS": mode], limit: 300)
        #expect(run.status == .exited(0), "\(run.stderr.suffix(3000))")
        let problems = ExampleProducer.python.verify(jsonl: scratch.read("out.jsonl"), worker: "python", instances: 2, records: records)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(run.stderr.components(separatedBy: "end-of-stream=true how=exit 0").count - 1 == 2, "\(run.stderr.suffix(2000))")
    }

    @Test func killedSupervisorEndsTheProducerThroughTheLifeline() throws {
        let scratch = Scratch()
        let run = try SupervisorRun(manifest: manifest(scratch, arguments: ["--records", "1000000", "--pace-us", "50000"]), in: scratch)
        let pid = try #require(run.workerPID("python.0"))
        #expect(scratch.awaitLines("out.jsonl", atLeast: 1))
        #expect(!processIsGone(pid), "the producer is running before the supervisor is killed")
        run.process.kill(SIGKILL)
        run.process.wait()
        #expect(awaitGone([pid], limit: 5), "the producer outlived its supervisor")
    }

    @Test func withoutASupervisorTheExampleNamesTheMissingVariable() throws {
        let result = try python([Self.example], in: Scratch())
        #expect(result.status == .exited(2))
        #expect(result.stderr.contains("RINGMASTER_SEGMENT is not set"), "\(result.stderr)")
    }

    @Test(arguments: [
        (["RINGMASTER_SEGMENT": "fd:x"], "RINGMASTER_SEGMENT=fd:x is malformed (expected fd:N or shm:/name)"),
        (["RINGMASTER_SEGMENT": "shm:/ringmaster.0.none", "RINGMASTER_NOTIFY": "eventfd:4,5"],
         "cannot attach to segment: shm_open(/ringmaster.0.none): No such file or directory"),
        (["RINGMASTER_SEGMENT": "fd:0", "RINGMASTER_NOTIFY": "eventfd:4"],
         "RINGMASTER_NOTIFY=eventfd:4 is malformed (expected eventfd:D,S with two different descriptor numbers)"),
    ])
    func malformedEnvironmentIsRefused(environment: [String: String], message: String) throws {
        let result = try python([Self.example], in: Scratch(), environment: environment)
        #expect(result.status == .exited(2))
        #expect(result.stderr == "producer.py: \(message)\n", "\(result.stderr)")
    }

    @Test func badArgumentsPrintUsage() throws {
        let result = try python([Self.example, "--records", "-3"], in: Scratch())
        #expect(result.status == .exited(2))
        #expect(result.stderr.contains("usage: producer.py [--records N]"), "\(result.stderr)")
    }

    // MARK: helpers

    /// Runs `python3 arguments…` (found on PATH through /usr/bin/env, as manifests find it).
    private func python(_ arguments: [String], in scratch: Scratch, mode: String? = nil,
                        environment: [String: String] = [:]) throws -> Finished {
        var environment = environment
        if let mode { environment["PY_RINGMASTER_ATOMICS"] = mode }
        return try runToEnd("/usr/bin/env", ["python3"] + arguments, in: scratch, environment: environment)
    }

    /// One `python` worker running the example with `arguments`, into `out.jsonl` in `scratch`.
    private func manifest(_ scratch: Scratch, arguments: [String], instances: Int = 1, extra: String = "") -> String {
        let args = ([Self.example] + arguments).map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            version: 1
            workers:
              python:
                command: python3
                args: [\(args)]
                instances: \(instances)
                format: text
                \(extra)
                to: [file]
            consumers:
              file: { plugin: jsonl, path: \(scratch.file("out.jsonl")) }
            """
    }
}

/// `uname -m`.
private let machineName: String = {
    var name = utsname()
    uname(&name)
    return withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}()
