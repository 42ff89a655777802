import Foundation
import Manifest

/// Where a consumer's `plugin:` value is looked for. Pure: the directories are values, so the
/// rules are tested without loading anything.
///
/// The rules, in order:
/// 1. a value containing `/` is a path to the library: absolute, or relative to the manifest's
///    directory; nothing else is tried;
/// 2. otherwise `lib<NAME>.so` in `<binary directory>/plugins` (the folder shipped beside
///    `ringmaster`), then in the binary's own directory (where `swift build` writes the built-in
///    plugins' dynamic library products), then in each directory of `RINGMASTER_PLUGIN_PATH`
///    (`:`-separated; relative entries resolve against the current directory, empty ones are
///    skipped).
public struct PluginLocator: Sendable {
    /// The directory holding the `ringmaster` binary; empty to skip rule 2's first two places.
    public let binaryDirectory: String
    /// `RINGMASTER_PLUGIN_PATH`.
    public let searchPath: String
    /// The manifest's directory (for rule 1).
    public let manifestDirectory: String

    /// Makes a locator.
    public init(binaryDirectory: String, searchPath: String, manifestDirectory: String) {
        self.binaryDirectory = binaryDirectory
        self.searchPath = searchPath
        self.manifestDirectory = manifestDirectory
    }

    /// A locator for this process and the manifest at `manifestFile`.
    public static func forCurrentProcess(manifestFile: String) -> PluginLocator {
        let environment = ProcessInfo.processInfo.environment
        return PluginLocator(binaryDirectory: CommandResolver.forCurrentProcess().binaryDirectory,
                             searchPath: environment["RINGMASTER_PLUGIN_PATH"] ?? "",
                             manifestDirectory: directory(of: manifestFile))
    }

    /// The directory part of `file` (`.` when it has none).
    public static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    /// Whether `plugin` names a file rather than a plugin to search for.
    public static func isPath(_ plugin: String) -> Bool { plugin.contains("/") }

    /// The directories searched for a plugin name, in order.
    public var directories: [String] {
        var directories: [String] = []
        if !binaryDirectory.isEmpty {
            directories.append(binaryDirectory + "/plugins")
            directories.append(binaryDirectory)
        }
        directories += searchPath.split(separator: ":").map(String.init)
        return directories
    }

    /// Every file the rules would try for `plugin`, in order.
    public func candidates(for plugin: String) -> [String] {
        if Self.isPath(plugin) {
            return [plugin.hasPrefix("/") ? plugin : manifestDirectory + "/" + plugin]
        }
        return directories.map { $0 + "/lib" + plugin + ".so" }
    }

    /// The plugin names found in the searched directories (for "did you mean"), sorted.
    public func availableNames() -> [String] {
        var names: Set<String> = []
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasPrefix("lib") && file.hasSuffix(".so") {
                names.insert(String(file.dropFirst(3).dropLast(3)))
            }
        }
        return names.sorted()
    }
}
