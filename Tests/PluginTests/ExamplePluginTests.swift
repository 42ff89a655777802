import Foundation
import RingmasterTestSupport
import Testing

/// The C example plugin (examples/c-consumer) builds with its own Makefile and loads.
@Suite struct ExamplePluginTests {
    @Test func cExampleBuildsWithItsMakefileAndCountsEveryRecord() throws {
        let scratch = Scratch()
        let example = packageRoot + "/examples/c-consumer"
        let make = try runToEnd("/usr/bin/env", ["make", "-C", example, "OUT=\(scratch.path)"], in: Scratch())
        #expect(make.status == .exited(0), "\(make.stderr)")
        // The example's manifest, beside the library it names (./libcount.so), on a small tree.
        var text = try String(contentsOfFile: example + "/manifest.yaml", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.file("tree/a"), withIntermediateDirectories: true)
        for name in ["x", "y", "a/z"] { scratch.write("tree/" + name, name) }
        text = text.replacingOccurrences(of: "\"/usr/include\"", with: "\"\(scratch.file("tree"))\"")
        let run = try ringmaster(manifest: text, in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        // The tree's root, a, x, y, a/z: five entries over the pool of two.
        #expect(run.stdout.hasPrefix("headers: walker: 5 records, "), "\(run.stdout)")
    }
}
