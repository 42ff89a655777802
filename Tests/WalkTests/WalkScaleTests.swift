import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// Big, deep and sharded walks, and crashes: still exactly the tree, exactly once.
@Suite(.serialized) struct WalkScaleTests {
    @Test func directoryOfHundredThousandEntries() throws {
        let scratch = Scratch()
        let root = scratch.file("big")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        for i in 0..<100_000 { tree.file("entry-\(i)") }
        let walk = try runWalker([root], in: scratch, channel: "{ ring: 4MiB, max_record: 4KiB }")
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        #expect(walk.entries.count == 100_001)
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root], in: scratch))
        let names = walk.records.dropFirst().map { String(decoding: $0.path, as: UTF8.self) }
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    @Test func chainFiveThousandDeep() throws {
        let scratch = Scratch()
        let root = scratch.file("chain")
        mkdir(root, 0o755)
        // Built with *at calls: the deep paths are longer than PATH_MAX.
        var fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for level in 1...5000 {
            #expect(mkdirat(fd, "d", 0o755) == 0)
            if level % 1000 == 0 { close(openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)) }
            let next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            close(fd)
            fd = next
        }
        close(openat(fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644))
        close(fd)

        let walk = try runWalker([root], in: scratch, channel: "{ ring: 4MiB, max_record: 64KiB }")
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        #expect(walk.errors.isEmpty)
        #expect(walk.entries.count == 1 + 5000 + 5 + 1)
        #expect((walk.entries.map(\.path.count).max() ?? 0) > 10_000, "deeper than PATH_MAX")
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root], in: scratch))
    }

    @Test func poolOfThreeSharesTheTreeExactlyOnce() throws {
        let scratch = Scratch()
        let root = makeWideTree(scratch, top: 30, middle: 30, files: 5)
        let walk = try runWalker([root], in: scratch, instances: 3)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root], in: scratch))
        for instance in 0..<3 {
            let mine = walk.records.filter { $0.instance == instance }
            #expect(mine.count > walk.records.count / 6, "instance \(instance) has a fair share (\(mine.count) of \(walk.records.count))")
            #expect(mine.map(\.path) == mine.map(\.path).sorted(by: walkOrderPrecedes), "instance \(instance) walks in order")
        }
    }

    @Test func crashedWalkersResumeWithNothingLostAndNothingTwice() throws {
        let scratch = Scratch()
        let root = makeWideTree(scratch, top: 12, middle: 12, files: 150)
        // Twelve roots, in reverse order, so tokens name roots other than the first.
        let roots = (0..<12).reversed().map { "\(root)/t\($0)" }
        // A small ring publishes every 16 KiB, so most killed generations got records out first.
        let walk = try runWalker(["--checkpoint-every", "256"] + roots, in: scratch, instances: 2,
                                 restart: "{ policy: on-failure, backoff: { initial: 1ms, max: 2ms }, budget: { restarts: 100, within: 1m } }",
                                 channel: "{ ring: 64KiB, max_record: 4KiB }",
                                 environment: ["RINGMASTER_WALK_CRASH_EVERY": "600", "RINGMASTER_WALK_CRASH_GENERATIONS": "12"])
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(3000))")
        let restarts = walk.stderr.components(separatedBy: "restarting walker.").count - 1
        #expect(restarts >= 24, "each instance was SIGKILLed 12 times (\(restarts) restarts)")
        let resumedRoots = Set(walk.stderr.components(separatedBy: "resuming at root ").dropFirst().map { $0.prefix { $0 != "," } })
        #expect(resumedRoots.count >= 2, "resumed in several roots: \(resumedRoots.sorted())")
        compare(walker: walk.entries.map { $0.listed() }, find: findListing(roots, in: scratch))
        for instance in 0..<2 {
            let mine = walk.records.filter { $0.instance == instance }
            #expect(mine.map(\.seq) == Array(0..<mine.count))
            #expect(mine.map(\.generation).max() == 12, "instance \(instance) finished as generation 12")
            let productive = Set(mine.map(\.generation)).count
            #expect(productive >= 4, "instance \(instance): \(productive) generations delivered records, most resumed from a checkpoint")
        }
    }

    /// root/tNN/mNN/{fN…, sub/{x, y}}: top × middle directories with `files` files and a small subdirectory each.
    private func makeWideTree(_ scratch: Scratch, top: Int, middle: Int, files: Int) -> String {
        let root = scratch.file("wide")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        for t in 0..<top {
            tree.directory("t\(t)")
            for m in 0..<middle {
                let dir = "t\(t)/m\(m)"
                tree.directory(dir)
                for f in 0..<files { tree.file("\(dir)/f\(f)", size: f) }
                tree.directory("\(dir)/sub")
                tree.file("\(dir)/sub/x", size: 1)
                tree.file("\(dir)/sub/y", size: 2)
            }
        }
        return root
    }
}
