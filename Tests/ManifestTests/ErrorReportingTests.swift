import Foundation
import Manifest
import Testing

@Suite("Errors: format, order, all at once, files")
struct ErrorReportingTests {
    @Test func descriptionIsFileLineColumnFieldMessage() {
        let position = SourcePosition(file: "walk.yaml", line: 12, column: 5)
        let error = ManifestError(position: position, field: "workers.walker.instances", message: "must be ≥ 1 (got 0)")
        #expect(error.description == "walk.yaml:12:5: workers.walker.instances must be ≥ 1 (got 0)")
        let syntax = ManifestError(position: position, field: "", message: "invalid YAML: oops")
        #expect(syntax.description == "walk.yaml:12:5: invalid YAML: oops")
    }

    @Test func errorsSortByPositionAndPrintOnePerLine() {
        func error(_ line: Int, _ column: Int, _ field: String) -> ManifestError {
            ManifestError(position: SourcePosition(file: "f", line: line, column: column), field: field, message: "is bad")
        }
        let errors = ManifestErrors([error(9, 1, "c"), error(2, 7, "b"), error(2, 3, "a")])
        #expect(errors.errors.map(\.field) == ["a", "b", "c"])
        #expect(errors.description == "f:2:3: a is bad\nf:2:7: b is bad\nf:9:1: c is bad")
    }

    /// Three mistakes far apart, found out of order (consumers are read before workers), come
    /// back together in file order.
    @Test func everyErrorIsReportedAtOnceInFileOrder() {
        let yaml = """
            version: 1
            workers:
              w:
                command: ringmaster-walk
                instances: 0
                to: [sinc]
            consumers:
              sink: { plugn: sqlite }

            """
        #expect(errorDescriptions(yaml) == [
            "m.yaml:5:16: workers.w.instances must be an integer from 1 to 1024 (got 0)",
            "m.yaml:6:10: workers.w.to[0] names an undefined consumer 'sinc' (did you mean 'sink'?)",
            "m.yaml:8:3: consumers.sink.plugin is missing (expected the name of the plugin to load; did you mean 'plugin' instead of 'plugn'?)",
        ])
    }

    @Test func loadReadsAFileAndResolvesAgainstItsDirectory() throws {
        let fixture = Fixture.shared
        let path = fixture.manifestDirectory + "/load.yaml"
        let text = "version: 1\nworkers:\n  w:\n    command: tools/run.sh\n    cwd: data\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        // The resolver's own working directory is elsewhere: load must use the file's directory.
        let resolver = CommandResolver(binaryDirectory: fixture.bin, searchPath: "", workingDirectory: fixture.path1)
        let manifest = try Manifest.load(path: path, resolver: resolver)
        #expect(manifest.file == path)
        #expect(manifest.workers.first?.executable == fixture.manifestDirectory + "/tools/run.sh")
        #expect(manifest.workers.first?.cwd == fixture.manifestDirectory + "/data")
    }

    @Test func loadTakesARelativePathAgainstTheResolversWorkingDirectory() throws {
        let fixture = Fixture.shared
        try "version: 1\nworkers:\n  w:\n    command: ./tools/run.sh\n"
            .write(toFile: fixture.manifestDirectory + "/relative.yaml", atomically: true, encoding: .utf8)
        let resolver = CommandResolver(binaryDirectory: "", searchPath: "", workingDirectory: fixture.root)
        let manifest = try Manifest.load(path: "m/relative.yaml", resolver: resolver)
        #expect(manifest.file == "m/relative.yaml")
        #expect(manifest.workers.first?.executable == fixture.manifestDirectory + "/tools/run.sh")
    }

    @Test func loadNamesTheFileItWasGivenInErrors() throws {
        let fixture = Fixture.shared
        let path = fixture.manifestDirectory + "/broken.yaml"
        try "version: 1\nworkers:\n  w:\n    command: ringmaster-walk\n    instances: 0\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let resolver = CommandResolver(binaryDirectory: fixture.bin, searchPath: "", workingDirectory: "/")
        #expect(throws: ManifestErrors.self) { try Manifest.load(path: path, resolver: resolver) }
        do {
            _ = try Manifest.load(path: path, resolver: resolver)
        } catch {
            #expect(error.description == "\(path):5:16: workers.w.instances must be an integer from 1 to 1024 (got 0)")
        }
    }

    @Test(arguments: [
        ("/no/such/manifest.yaml", "/no/such/manifest.yaml:1:1: cannot read the manifest: no such file"),
        ("/", "/:1:1: cannot read the manifest: it is a directory"),
    ])
    func loadReportsUnreadableFiles(_ path: String, _ expected: String) {
        do {
            _ = try Manifest.load(path: path, resolver: Fixture.shared.resolver)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func loadRejectsTextThatIsNotUTF8() throws {
        let path = Fixture.shared.manifestDirectory + "/latin1.yaml"
        try Data([0x76, 0x3A, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Manifest.load(path: path, resolver: Fixture.shared.resolver)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(path):1:1: cannot read the manifest: it is not UTF-8 text")
        }
    }
}
