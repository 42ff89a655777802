import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

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
