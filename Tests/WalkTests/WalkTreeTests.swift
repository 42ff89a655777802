import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// `ringmaster-walk` under `ringmaster run`, on generated trees, against find(1).
@Suite(.serialized) struct WalkTreeTests {
    @Test func oddNamesAndEmptyDirectoriesMatchFindInWalkOrder() throws {
        let scratch = Scratch()
        let root = scratch.file("tree")
        let tree = TreeBuilder(root: root)
        mkdir(root, 0o755)
        tree.directory("with space")
        tree.file("with space/file one", size: 10)
        tree.file(Array("new\nline".utf8), size: 3)
        tree.file([0x62, 0x61, 0x64, 0xFF, 0x20, 0x6E, 0x61, 0x6D, 0x65], size: 1)   // "bad\xff name"
        tree.directory([0x63, 0x61, 0x66, 0xC3])                                      // "caf" + a cut UTF-8 sequence
        tree.file([0x63, 0x61, 0x66, 0xC3, 0x2F, 0x78], size: 2)
        tree.file("-rf")
        tree.directory("--help")
        tree.file("--help/-n", size: 5)
        tree.directory("empty")
        tree.directory("empty2")
        tree.directory("empty2/deeper")
        tree.file("\u{fc}n\u{ef}c\u{f8}d\u{e9}", size: 7)
        tree.file("\t tab")
        for name in ["a", "a b", "a-", "a.b", "a0"] { tree.directory(name) }
        tree.file("a/z", size: 1)
        tree.file("a b/z", size: 2)

        let walk = try runWalker([root], in: scratch)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        #expect(walk.errors.isEmpty)
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root], in: scratch))
        let paths = walk.records.map(\.path)
        #expect(paths == paths.sorted(by: walkOrderPrecedes), "records come in walk order")
        #expect(walk.records.map(\.seq) == Array(0..<walk.records.count))
        #expect(walk.stderr.contains("walker.0 finished"))

        let again = try runWalker([root], in: scratch)
        #expect(again.records.map(\.path) == paths, "the order is deterministic")
    }

    @Test func symlinkLoopsAreEntriesWhenNotFollowing() throws {
        let scratch = Scratch()
        let root = makeLinkTree(scratch)
        let walk = try runWalker([root], in: scratch)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        #expect(walk.errors.isEmpty)
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root], in: scratch))
        #expect(walk.entries.filter { $0.type == "symlink" }.count == 5)
    }

    @Test func followingSymlinksDetectsLoopsByDeviceAndInode() throws {
        let scratch = Scratch()
        let root = makeLinkTree(scratch)
        let walk = try runWalker(["--follow-symlinks", root], in: scratch)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        compare(walker: walk.entries.map { $0.listed() }, find: findListing(["-L", root], in: scratch))
        let errors = Set(walk.errors.map { "\(String(decoding: $0.path, as: UTF8.self)) \($0.error ?? "") \($0.operation ?? "")" })
        #expect(errors == [
            "\(root)/self ELOOP stat",
            "\(root)/a/b/up ELOOP loop",
            "\(root)/linka/b/up ELOOP loop",
            "\(root)/c/again ELOOP loop",
        ])
        #expect(walk.entries.contains { $0.path == Array("\(root)/linka/file".utf8) && $0.type == "file" })
    }

    /// a/b/up → the root, self → self, dangling → nowhere, linka → a, c/again → c.
    private func makeLinkTree(_ scratch: Scratch) -> String {
        let root = scratch.file("links")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        tree.directory("a")
        tree.directory("a/b")
        tree.file("a/file", size: 5)
        tree.symlink("../..", at: "a/b/up")
        tree.symlink("self", at: "self")
        tree.symlink("nothing", at: "dangling")
        tree.symlink("a", at: "linka")
        tree.directory("c")
        tree.symlink("../c", at: "c/again")
        return root
    }

    @Test(.enabled(if: access("/usr/bin/setpriv", X_OK) == 0, "needs setpriv to drop root"))
    func unreadableDirectoryIsAnErrorRecordAndTheWalkGoesOn() throws {
        let scratch = Scratch()
        let root = scratch.file("tree")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        tree.directory("open")
        tree.file("open/x", size: 4)
        tree.directory("forbidden")
        tree.file("forbidden/secret", size: 9)
        tree.directory("forbidden/inner")
        chmod(root + "/forbidden", 0o700)
        tree.file("zzz-after", size: 1)

        let walk = try runWalker([root], in: scratch, asNobody: true)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        let found = findListing([root], in: scratch, asNobody: true)
        #expect(found.contains { $0.path == Array("\(root)/forbidden".utf8) })
        #expect(!found.contains { $0.path == Array("\(root)/forbidden/secret".utf8) }, "find, as nobody, cannot read it either")
        compare(walker: walk.entries.map { $0.listed() }, find: found)
        #expect(walk.errors.map { "\(String(decoding: $0.path, as: UTF8.self)) \($0.error ?? "") \($0.operation ?? "")" }
                == ["\(root)/forbidden EACCES open"])
        #expect(walk.records.last?.path == Array("\(root)/zzz-after".utf8), "the walk went on after the error")
    }

    @Test func depthExcludeAndNoStatMatchFind() throws {
        let scratch = Scratch()
        let root = scratch.file("tree")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        for top in ["one", "two", "skip"] {
            tree.directory(top)
            tree.file("\(top)/keep.txt", size: 3)
            tree.file("\(top)/drop.tmp", size: 4)
            tree.directory("\(top)/inner")
            tree.file("\(top)/inner/deep.txt", size: 5)
        }
        tree.directory("cache.tmp")
        tree.file("cache.tmp/hidden", size: 1)

        let shallow = try runWalker(["--max-depth", "1", root], in: scratch)
        compare(walker: shallow.entries.map { $0.listed() }, find: findListing([root, "-maxdepth", "1"], in: scratch))

        let excluded = try runWalker(["--exclude", "*.tmp", "--exclude", "*/skip/inner", root], in: scratch)
        let pruned = findListing([root, "(", "-name", "*.tmp", "-o", "-path", "*/skip/inner", ")", "-prune", "-o"], in: scratch)
        compare(walker: excluded.entries.map { $0.listed() }, find: pruned)
        #expect(excluded.entries.count == 11)

        let names = try runWalker(["--no-stat", root], in: scratch)
        #expect(names.status == .exited(0))
        compare(walker: names.entries.map { $0.listed(withSize: false) }, find: findListing([root], in: scratch, withSize: false))
        #expect(names.entries.allSatisfy { $0.size == nil })
    }

    @Test func rootsComeInCommandLineOrderAndMayStartWithADash() throws {
        let scratch = Scratch()
        for name in ["zeta", "-dash"] {
            mkdir(scratch.file(name), 0o755)
            TreeBuilder(root: scratch.file(name)).file("f", size: 1)
        }
        let walk = try runWalker(["--", "zeta", "-dash"], in: scratch, cwd: scratch.path)
        #expect(walk.status == .exited(0), "\(walk.stderr.suffix(2000))")
        #expect(walk.records.map { String(decoding: $0.path, as: UTF8.self) } == ["zeta", "zeta/f", "-dash", "-dash/f"])
    }

    @Test(.enabled(if: canMountTmpfs(), "needs to mount a tmpfs"))
    func oneFileSystemStopsAtMountPointsLikeFindXdev() throws {
        let scratch = Scratch()
        let root = scratch.file("tree")
        mkdir(root, 0o755)
        let tree = TreeBuilder(root: root)
        tree.directory("local")
        tree.file("local/a", size: 1)
        tree.directory("mnt")
        #expect(run("/bin/mount", ["-t", "tmpfs", "none", root + "/mnt"]) == .exited(0))
        defer { run("/bin/umount", [root + "/mnt"]) }
        tree.file("mnt/inside", size: 2)

        let walk = try runWalker(["--one-file-system", root], in: scratch)
        compare(walker: walk.entries.map { $0.listed() }, find: findListing([root, "-xdev"], in: scratch))
        #expect(walk.entries.contains { $0.path == Array("\(root)/mnt".utf8) })
        #expect(!walk.entries.contains { $0.path == Array("\(root)/mnt/inside".utf8) })
        let across = try runWalker([root], in: scratch)
        #expect(across.entries.contains { $0.path == Array("\(root)/mnt/inside".utf8) })
    }

    @Test func usageErrorsAndHelp() {
        let scratch = Scratch()
        #expect(run(walkPath, ["--help"], stdoutPath: scratch.file("help")) == .exited(0))
        #expect(scratch.read("help").contains("--one-file-system"))
        #expect(run(walkPath, ["--bogus", "/"], stderrPath: scratch.file("err")) == .exited(2))
        #expect(scratch.read("err").contains("unknown option --bogus"))
        #expect(run(walkPath, [], stderrPath: scratch.file("err")) == .exited(2))
        #expect(run(walkPath, ["/"], stderrPath: scratch.file("err")) == .exited(2))
        #expect(scratch.read("err").contains("RINGMASTER_SEGMENT is not set"))
    }
}

/// Whether this process may mount a tmpfs (root in a namespace that allows it).
func canMountTmpfs() -> Bool {
    guard getuid() == 0 else { return false }
    let probe = Scratch()
    guard run("/bin/mount", ["-t", "tmpfs", "none", probe.path]) == .exited(0) else { return false }
    run("/bin/umount", [probe.path])
    return true
}
