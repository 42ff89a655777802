import Foundation
import RingmasterTestSupport
import TestHarness
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

    /// The Swift example (examples/swift-consumer) is also a product of this package, so
    /// `liblinecount.so` sits beside `ringmaster`; its manifest loads it by path, this one by name.
    @Test func swiftExampleLoadsAndPrintsEveryNthRecord() throws {
        let scratch = Scratch()
        let example = packageRoot + "/examples/swift-consumer"
        var text = try String(contentsOfFile: example + "/manifest.yaml", encoding: .utf8)
        #expect(text.contains("plugin: ./.build/release/liblinecount.so"))
        try FileManager.default.createDirectory(atPath: scratch.file("tree/a"), withIntermediateDirectories: true)
        for name in ["x", "y", "a/z"] { scratch.write("tree/" + name, name) }
        text = text.replacingOccurrences(of: "\"/usr/include\"", with: "\"\(scratch.file("tree"))\"")
        text = text.replacingOccurrences(of: "plugin: ./.build/release/liblinecount.so, every: 500", with: "plugin: linecount, every: 2")
        let run = try ringmaster(manifest: text, in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        // Five entries in walk order (tree, tree/a, tree/a/z, tree/x, tree/y): the 2nd and 4th printed.
        let lines = pluginLines(run.stdout)
        #expect(lines.count == 3, "\(lines)")
        if lines.count == 3 {
            // A directory's size depends on the file system: match around it.
            #expect(lines[0].hasPrefix("linecount: #2 walker.0 seq 1: dir ") && lines[0].hasSuffix(" \(scratch.file("tree/a"))"))
            #expect(lines[1] == "linecount: #4 walker.0 seq 3: file 1 \(scratch.file("tree/x"))")
            #expect(lines[2] == "linecount: 5 records")
        }
    }
}
