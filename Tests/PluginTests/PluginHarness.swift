import Foundation
import Glibc
import RingmasterTestSupport
import Testing

/// The binaries under test (and the built-in plugins), built beside the test bundle.
let binaryDirectory = executableDirectory()
let ringmasterPath = binaryDirectory + "/ringmaster"
/// The package's root, for the C sources of the test plugins and the examples.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A scratch directory for one test, removed at the end.
final class Scratch {
    let path: String

    init() {
        var template = Array("/tmp/ringmaster-plugin-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: Data(text.utf8))
        return target
    }

    func read(_ name: String) -> String { (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? "" }
}

/// Runs a program to its end with output in files; returns its status, stdout and stderr.
func runToEnd(_ path: String, _ arguments: [String], in scratch: Scratch, environment: [String: String] = [:],
              limit: Double = 60) throws -> (status: RingmasterTestSupport.ExitStatus, stdout: String, stderr: String) {
    let out = open(scratch.file("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let err = open(scratch.file("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    let process = try SpawnedProcess.spawn(path, arguments, environment: environment, stdoutTo: out, stderrTo: err)
    close(out)
    close(err)
    var waited = 0.0
    var status = process.poll()
    while status == nil && waited < limit {
        usleep(20_000)
        waited += 0.02
        status = process.poll()
    }
    if status == nil {
        Issue.record("\(path) did not finish within \(limit)s")
        process.kill(SIGKILL)
        status = process.wait()
    }
    return (status!, scratch.read("stdout.txt"), scratch.read("stderr.txt"))
}

/// `ringmaster run` (or `validate`) on a manifest written into `scratch`.
func ringmaster(_ command: String = "run", manifest: String, in scratch: Scratch,
                environment: [String: String] = [:]) throws -> (status: RingmasterTestSupport.ExitStatus, stdout: String, stderr: String, path: String) {
    let path = scratch.write("manifest.yaml", manifest)
    let result = try runToEnd(ringmasterPath, [command, path], in: scratch, environment: environment)
    return (result.status, result.stdout, result.stderr, path)
}

/// Builds the test plugin (Tests/PluginTests/CPlugins/test_plugin.c) with `cc`, with extra
/// defines, into `directory/lib<name>.so`; returns the library's path.
func buildTestPlugin(named name: String = "testplugin", defines: [String] = [], into directory: String) throws -> String {
    let output = directory + "/lib\(name).so"
    let source = packageRoot + "/Tests/PluginTests/CPlugins/test_plugin.c"
    let arguments = ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I", packageRoot + "/Plugins/include"]
        + defines.map { "-D" + $0 } + ["-o", output, source]
    try compile(arguments, in: directory)
    return output
}

/// Runs the C compiler (`cc`, the machine's default) and fails the test with its output on error.
func compile(_ arguments: [String], in directory: String) throws {
    let scratch = Scratch()
    let result = try runToEnd("/usr/bin/env", ["cc"] + arguments, in: scratch)
    #expect(result.status == .exited(0), "cc failed: \(result.stderr)")
}

/// The lines the test plugin wrote ("w.0 seq type length").
func pluginLines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
