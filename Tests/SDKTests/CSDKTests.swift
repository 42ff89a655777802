import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// The C producer SDK (sdk/c/include/ringmaster/producer.h): its conformance runner on every
/// vector (and that it can fail), strict compilation, and the example producer without a
/// supervisor. The example under `ringmaster run`, beside the others and SIGKILLed mid-stream, is
/// in CrossLanguageTests.
@Suite(.serialized) struct CSDKTests {
    /// The strict flags the header promises to compile under.
    static let strictFlags = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-pthread"]

    @Test func conformanceRunnerPassesEveryVector() throws {
        let scratch = Scratch()
        let runner = scratch.file("conformance")
        try CSDKBuild.compile(Self.strictFlags + ["-O1", "-o", runner, packageRoot + "/sdk/c/tests/conformance.c"])
        let vectors = try Vector.all()
        #expect(vectors.count >= 8, "vectors: \(vectors)")
        let result = try runToEnd(runner, vectors.map(\.path), in: scratch)
        #expect(result.status == .exited(0), "conformance runner:\n\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == vectors.map { "ok \($0.name)" }, "conformance runner:\n\(result.stdout)")
    }

    @Test func conformanceRunnerReportsADifferingImage() throws {
        // The runner must be able to fail: one byte of the worked example's image changed.
        let scratch = Scratch()
        let runner = scratch.file("conformance")
        try CSDKBuild.compile(Self.strictFlags + ["-o", runner, packageRoot + "/sdk/c/tests/conformance.c"])
        let original = try String(contentsOfFile: packageRoot + "/conformance/vectors/worked-example.vec", encoding: .utf8)
        let changed = original.replacingOccurrences(of: "00001000 2800000001000000", with: "00001000 2800000002000000")
        try #require(changed != original, "the worked example's image no longer holds the line this test changes")
        let result = try runToEnd(runner, [scratch.write("broken.vec", changed)], in: scratch)
        #expect(result.status == .exited(1))
        #expect(result.stdout.hasPrefix("FAIL worked-example: line "), "\(result.stdout)")
        #expect(result.stdout.contains("offset 0x1004: expected 0x02, got 0x01"), "\(result.stdout)")
    }

    @Test func headerCompilesUnderClangToo() throws {
        let clang = "/opt/swift/usr/bin/clang"
        guard access(clang, X_OK) == 0 else { return }
        let scratch = Scratch()
        let source = scratch.write("attach.c", """
            #include <ringmaster/producer.h>
            int main(void) {
                rm_producer p;
                if (rm_attach(&p) != 0) { fprintf(stderr, "%s\\n", p.error); return 2; }
                rm_batch_begin(&p);
                rm_send(&p, RM_TYPE_DATA, "x", 1);
                rm_batch_end(&p);
                rm_heartbeat(&p);
                rm_log(&p, "hello");
                return rm_finish(&p) == 0 ? 0 : 1;
            }
            """)
        try CSDKBuild.compile(Self.strictFlags + ["-I", packageRoot + "/sdk/c/include", "-o", scratch.file("attach"), source],
                              compiler: clang)
    }

    @Test func exampleWithoutASupervisorRefusesToStart() throws {
        let scratch = Scratch()
        let producer = try ExampleProducer.cBinary.get()
        let result = try runToEnd(producer, ["--records", "10"], in: scratch)
        #expect(result.status == .exited(2))
        #expect(result.stderr.contains("RINGMASTER_SEGMENT is not set"), "\(result.stderr)")
        let usage = try runToEnd(producer, ["--records", "ten"], in: scratch)
        #expect(usage.status == .exited(2))
        #expect(usage.stderr.contains("usage: c-producer"), "\(usage.stderr)")
    }
}

/// Building the C pieces.
enum CSDKBuild {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs a C compiler (default `cc`) and fails the test with its output on error.
    static func compile(_ arguments: [String], compiler: String = "cc") throws {
        let scratch = Scratch()
        let result = try runToEnd("/usr/bin/env", [compiler] + arguments, in: scratch)
        guard result.status == .exited(0) else {
            throw Failure(description: "\(compiler) \(arguments.joined(separator: " ")) failed:\n\(result.stderr)")
        }
    }
}
