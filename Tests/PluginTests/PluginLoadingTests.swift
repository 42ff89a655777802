import Foundation
import RingmasterTestSupport
import TestHarness
import Testing

/// Loading plugins through `ringmaster run` and `validate`: by name, by path, and every way a
/// load can fail, each a startup error with the manifest position, never a crash.
@Suite struct PluginLoadingTests {
    func manifest(plugin: String, settings: String = "", records: Int = 50) -> String {
        """
        version: 1
        workers:
          w:
            command: ringmaster-test-producer
            args: ["--records", "\(records)"]
            format: bytes
            to: [c]
        consumers:
          c: { plugin: \(plugin)\(settings) }
        """
    }

    @Test func pluginByPathRelativeToTheManifestGetsEveryRecordInOrder() throws {
        let scratch = Scratch()
        try FileManager.default.createDirectory(atPath: scratch.file("lib"), withIntermediateDirectories: true)
        _ = try buildTestPlugin(into: scratch.file("lib"))
        let run = try ringmaster(manifest: manifest(plugin: "./lib/libtestplugin.so", settings: ", out: \(scratch.file("got.txt"))"),
                                 in: scratch)
        #expect(run.status == .exited(0), "\(run.stderr)")
        let fields = pluginLines(scratch.read("got.txt")).map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
        #expect(fields == (0..<50).map { "w.0 \($0) 1" })
    }

    @Test func pluginByNameIsFoundOnRingmasterPluginPath() throws {
        let scratch = Scratch()
        try FileManager.default.createDirectory(atPath: scratch.file("p"), withIntermediateDirectories: true)
        _ = try buildTestPlugin(named: "counting", into: scratch.file("p"))
        let text = manifest(plugin: "counting", settings: ", out: \(scratch.file("got.txt"))")
        let run = try ringmaster(manifest: text, in: scratch,
                                 environment: ["RINGMASTER_PLUGIN_PATH": "/nonexistent:" + scratch.file("p")])
        #expect(run.status == .exited(0), "\(run.stderr)")
        #expect(pluginLines(scratch.read("got.txt")).count == 50)
        // Without the variable the name is unknown, and the message says where it looked.
        let missing = try ringmaster("validate", manifest: text, in: scratch)
        #expect(missing.status == .exited(2))
        #expect(missing.stderr.contains("\(missing.manifestPath):9:16: consumers.c.plugin names an unknown plugin 'counting': no libcounting.so in \(binaryDirectory)/plugins, \(binaryDirectory)"), "\(missing.stderr)")
    }

    @Test func missingFileIsAStartupErrorAtThePluginValue() throws {
        let scratch = Scratch()
        let run = try ringmaster(manifest: manifest(plugin: "./nowhere/libx.so"), in: scratch)
        #expect(run.status == .exited(2))
        #expect(run.stderr.contains("\(run.manifestPath):9:16: consumers.c.plugin './nowhere/libx.so' does not exist (looked for \(scratch.path)/./nowhere/libx.so)"), "\(run.stderr)")
        #expect(!run.stderr.contains("started w.0"))
    }

    @Test func fileThatIsNotALibraryCannotBeLoaded() throws {
        let scratch = Scratch()
        scratch.write("libjunk.so", "not an ELF file")
        let run = try ringmaster("validate", manifest: manifest(plugin: "./libjunk.so"), in: scratch)
        #expect(run.status == .exited(2))
        #expect(run.stderr.contains("consumers.c.plugin './libjunk.so' cannot be loaded: "), "\(run.stderr)")
    }

    @Test func missingEntrySymbolIsReported() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(defines: ["RM_TEST_NO_ENTRY"], into: scratch.path)
        let run = try ringmaster(manifest: manifest(plugin: "./libtestplugin.so"), in: scratch)
        #expect(run.status == .exited(2))
        #expect(run.stderr.contains("consumers.c.plugin './libtestplugin.so' (\(scratch.path)/./libtestplugin.so) is not a ringmaster consumer plugin: it does not export ringmaster_consumer_entry"), "\(run.stderr)")
    }

    @Test func wrongABIVersionIsReportedByValidateAndRun() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(defines: ["RM_TEST_ABI=2"], into: scratch.path)
        for command in ["validate", "run"] {
            let run = try ringmaster(command, manifest: manifest(plugin: "./libtestplugin.so"), in: scratch)
            #expect(run.status == .exited(2))
            #expect(run.stderr.contains("was built for consumer ABI version 2; this ringmaster supports version 1"), "\(run.stderr)")
        }
    }

    @Test func createFailureIsAStartupErrorAtTheSettingItNames() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(into: scratch.path)
        // A message "KEY: text" is placed at that setting; any other at the plugin value.
        let keyed = try ringmaster(manifest: manifest(plugin: "./libtestplugin.so", settings: ", create_error: 'create_error: no good'"), in: scratch)
        #expect(keyed.status == .exited(2))
        #expect(keyed.stderr.contains("\(keyed.manifestPath):9:50: consumers.c.create_error no good"), "\(keyed.stderr)")
        let plain = try ringmaster(manifest: manifest(plugin: "./libtestplugin.so", settings: ", create_error: database is locked"), in: scratch)
        #expect(plain.status == .exited(2))
        #expect(plain.stderr.contains("\(plain.manifestPath):9:16: consumers.c.plugin './libtestplugin.so' could not create the consumer: database is locked"), "\(plain.stderr)")
        #expect(!plain.stderr.contains("started w.0"))
        // validate calls check, not create: the create error is a run-time error only.
        let validate = try ringmaster("validate", manifest: manifest(plugin: "./libtestplugin.so", settings: ", create_error: boom"), in: scratch)
        #expect(validate.status == .exited(0), "\(validate.stderr)")
    }

    @Test func checkErrorsAreReportedByValidateWithPositions() throws {
        let scratch = Scratch()
        _ = try buildTestPlugin(into: scratch.path)
        let run = try ringmaster("validate", manifest: manifest(plugin: "./libtestplugin.so",
                                                               settings: ", check_error: 'check_error: bad', on_error: later"), in: scratch)
        #expect(run.status == .exited(2))
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(run.manifestPath):9:49: consumers.c.check_error bad",
            "\(run.manifestPath):9:79: consumers.c.on_error must be one of retry, stop (got 'later')",
        ])
    }
}
