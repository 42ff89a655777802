import CShim
import Glibc
import RingChannel
import RingmasterTestSupport
import TestHarness
import Testing

/// What the supervisor itself inherited or set for itself does not reach its workers: a stray
/// descriptor (here a pipe at 9, as a shell or a service manager might leave one), or the signals
/// it ignores.
@Suite struct InheritedDescriptorTests {
    @Test func workersDoNotInheritTheSupervisorsStrayDescriptors() throws {
        let scratch = Scratch()
        var ends: [CInt] = [-1, -1]
        #expect(cshim_pipe_cloexec(&ends) == 0)
        defer { ends.forEach { close($0) } }
        let manifest = scratch.write("manifest.yaml", """
            version: 1
            workers:
              lister:
                command: /bin/ls
                args: ["-1", "/proc/self/fd/"]
                restart: { policy: never }
            consumers: {}
            """)
        let out = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let process = try SpawnedProcess.spawn(ringmasterPath, ["run", manifest, "--no-control"],
                                               inherited: [Channel.Inherited(source: FileDescriptor(rawValue: ends[0]), target: 9)],
                                               stderrTo: out)
        close(out)
        #expect(process.wait() == .exited(0))
        let listed = scratch.read("stderr.txt").split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "[lister.0] ") else { return nil }
            return Int(line[range.upperBound...])
        }
        #expect(listed.contains(3) && listed.contains(5), "the ring and its notifiers are there: \(listed)")
        #expect(!listed.contains(9), "descriptor 9 of the supervisor reached the worker: \(listed)")
    }

    /// The supervisor ignores SIGHUP and SIGUSR1 until its loop handles them (and SIGPIPE for
    /// good); its workers start with every signal at its default action.
    @Test func workersStartWithDefaultSignalDispositions() throws {
        let run = try ringmaster(manifest: """
            version: 1
            workers:
              status:
                command: /bin/cat
                args: ["/proc/self/status"]
                restart: { policy: never }
            consumers: {}
            """, in: Scratch())
        #expect(run.status == .exited(0))
        let line = run.stderr.split(separator: "\n").first { $0.contains("[status.0] SigIgn:") }
        let mask = line.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        // Signals 1-31 (the real-time ones above are glibc's and libuv leaves them alone).
        let standard = mask.map { $0 & 0x7FFF_FFFF }
        #expect(standard == 0, "the worker ignores signals (mask \(mask.map { String($0, radix: 16) } ?? "missing")): \(line ?? "")")
    }
}
