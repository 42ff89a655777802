import Foundation
import Manifest

/// A scratch tree made once per test process, so command and cwd checks have real files:
///
///     root/bin/ringmaster-walk      755   "beside ringmaster"
///     root/bin/ringmaster-stats     755
///     root/bin/shadowed             644   not executable: resolution must skip it
///     root/path1/ringmaster-walk    755   loses to bin/
///     root/path1/onpath             755   wins over path2/onpath
///     root/path1/shadowed           755
///     root/path2/onpath             755
///     root/path2/deep               755   only on the second PATH entry
///     root/m/data/                  dir   the manifest's directory is root/m
///     root/m/tools/run.sh           755
///     root/m/tools/plain.txt        644
///     root/m/file.txt               644
struct Fixture: Sendable {
    let root: String
    var bin: String { root + "/bin" }
    var path1: String { root + "/path1" }
    var path2: String { root + "/path2" }
    var manifestDirectory: String { root + "/m" }
    var searchPath: String { "\(path1):\(path2)" }

    /// Binary directory `bin`, PATH `path1:path2`, relative paths against `m`.
    var resolver: CommandResolver {
        CommandResolver(binaryDirectory: bin, searchPath: searchPath, workingDirectory: manifestDirectory)
    }

    static let shared = Fixture()

    private init() {
        let files = FileManager.default
        root = files.temporaryDirectory.path + "/ringmaster-manifest-tests-\(ProcessInfo.processInfo.processIdentifier)"
        try? files.removeItem(atPath: root)
        let executables = ["bin/ringmaster-walk", "bin/ringmaster-stats", "path1/ringmaster-walk", "path1/onpath",
                           "path1/shadowed", "path2/onpath", "path2/deep", "m/tools/run.sh"]
        let plain = ["bin/shadowed", "m/tools/plain.txt", "m/file.txt"]
        for directory in ["bin", "path1", "path2", "m/data", "m/tools"] {
            try! files.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        for file in executables {
            let made = files.createFile(atPath: "\(root)/\(file)", contents: Data("#!/bin/sh\nexit 0\n".utf8),
                                        attributes: [.posixPermissions: 0o755])
            precondition(made, "cannot create \(root)/\(file)")
        }
        for file in plain {
            let made = files.createFile(atPath: "\(root)/\(file)", contents: Data("text\n".utf8),
                                        attributes: [.posixPermissions: 0o644])
            precondition(made, "cannot create \(root)/\(file)")
        }
    }
}

/// Parses `yaml` as `m.yaml` with the fixture's resolver.
func parse(_ yaml: String) throws(ManifestErrors) -> Manifest {
    try Manifest.parse(yaml, file: "m.yaml", resolver: Fixture.shared.resolver)
}

/// The error descriptions `yaml` produces, or `["no error"]` when it parses.
func errorDescriptions(_ yaml: String) -> [String] {
    do {
        _ = try parse(yaml)
        return ["no error"]
    } catch {
        return error.errors.map(\.description)
    }
}

/// `version: 1` and one worker `w` running `ringmaster-walk`, with `lines` appended to the worker
/// (indented four spaces), so its first extra line is line 5.
func worker(_ lines: String...) -> String {
    "version: 1\nworkers:\n  w:\n    command: ringmaster-walk\n"
        + lines.map { "    \($0)\n" }.joined()
}
