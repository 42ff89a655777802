import Manifest
import Testing

@Suite("CommandResolver: path, then beside ringmaster, then PATH")
struct CommandResolverTests {
    let fixture = Fixture.shared

    @Test func aNameBesideRingmasterWinsOverPATH() {
        // ringmaster-walk is in bin/ and in path1/.
        #expect(fixture.resolver.resolve("ringmaster-walk") == fixture.bin + "/ringmaster-walk")
    }

    @Test func pathEntriesAreTriedLeftToRight() {
        #expect(fixture.resolver.resolve("onpath") == fixture.path1 + "/onpath")
        #expect(fixture.resolver.resolve("deep") == fixture.path2 + "/deep")
        let reversed = CommandResolver(binaryDirectory: fixture.bin, searchPath: "\(fixture.path2):\(fixture.path1)",
                                       workingDirectory: "/")
        #expect(reversed.resolve("onpath") == fixture.path2 + "/onpath")
    }

    @Test func aFileWithoutExecutePermissionIsSkipped() {
        // bin/shadowed is 0644, path1/shadowed is 0755.
        #expect(fixture.resolver.resolve("shadowed") == fixture.path1 + "/shadowed")
    }

    @Test func aCommandWithASlashIsOnlyAPath() {
        // Relative to the working directory (the manifest's directory), normalized.
        #expect(fixture.resolver.resolve("./tools/run.sh") == fixture.manifestDirectory + "/tools/run.sh")
        #expect(fixture.resolver.resolve("tools/../tools/run.sh") == fixture.manifestDirectory + "/tools/run.sh")
        #expect(fixture.resolver.resolve(fixture.path2 + "/deep") == fixture.path2 + "/deep")
        // A path never falls back to the binary directory or PATH, even when the name is there.
        #expect(fixture.resolver.resolve("./ringmaster-walk") == nil)
        #expect(fixture.resolver.resolve("tools/plain.txt") == nil)
        #expect(fixture.resolver.resolve("tools") == nil)
    }

    @Test func relativeAndEmptyPATHEntriesAreIgnored() {
        let resolver = CommandResolver(binaryDirectory: "", searchPath: "::tools:.:\(fixture.path2)",
                                       workingDirectory: fixture.manifestDirectory)
        #expect(resolver.resolve("run.sh") == nil)
        #expect(resolver.resolve("deep") == fixture.path2 + "/deep")
    }

    @Test func relativeToChangesOnlyTheWorkingDirectory() {
        let moved = fixture.resolver.relativeTo("../m/tools")
        #expect(moved.workingDirectory == fixture.manifestDirectory + "/tools")
        #expect(moved.resolve("./run.sh") == fixture.manifestDirectory + "/tools/run.sh")
        #expect(moved.binaryDirectory == fixture.bin && moved.searchPath == fixture.searchPath)
    }

    @Test func failureReasonsSayWhereTheResolverLooked() {
        let resolver = fixture.resolver
        #expect(resolver.resolve("nothing-like-it") == nil)
        #expect(resolver.failureReason(for: "nothing-like-it")
                == "not found beside ringmaster (\(fixture.bin)) or on PATH (\(fixture.searchPath))")
        #expect(resolver.failureReason(for: "ringmaster-stat")
                == "not found beside ringmaster (\(fixture.bin)) or on PATH (\(fixture.searchPath)); did you mean 'ringmaster-stats'?")
        // Five edits from ringmaster-stats: a shared prefix alone is no reason to suggest it.
        #expect(resolver.failureReason(for: "ringmaster-bench")
                == "not found beside ringmaster (\(fixture.bin)) or on PATH (\(fixture.searchPath))")
        let bare = CommandResolver(binaryDirectory: "", searchPath: "", workingDirectory: "/")
        #expect(bare.failureReason(for: "x") == "not found on PATH (PATH is empty)")
        #expect(resolver.failureReason(for: "/no/such/program") == "does not exist")
    }

    @Test func theCurrentProcessResolverUsesItsOwnDirectoryAndPATH() {
        let current = CommandResolver.forCurrentProcess()
        #expect(current.binaryDirectory.hasPrefix("/"))
        #expect(current.workingDirectory.hasPrefix("/"))
        // `sh` is on any Linux PATH the tests run with.
        #expect(current.resolve("sh")?.hasSuffix("/sh") == true)
    }
}
