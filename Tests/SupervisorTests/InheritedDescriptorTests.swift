import CShim
import Glibc
import RingChannel
import RingmasterTestSupport
import TestHarness
import Testing

/// What the supervisor itself inherited (here a pipe at descriptor 9, as a shell or a service
/// manager might leave one) does not reach its workers: they get their ring, notifiers,
/// lifeline and standard streams only.
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
}
