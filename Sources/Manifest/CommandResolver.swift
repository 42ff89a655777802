import Foundation

/// Finds the program a worker's `command` names.
///
/// The rules, in order:
/// 1. a command containing `/` is a path: absolute, or relative to `workingDirectory` (which
///    `Manifest.load` sets to the manifest's directory), and nothing else is tried;
/// 2. otherwise `binaryDirectory/command`, so programs shipped beside `ringmaster`
///    (`ringmaster-walk`) are found without PATH;
/// 3. otherwise each absolute entry of `searchPath`, left to right. Empty and relative PATH
///    entries are skipped: they would make the result depend on the supervisor's own cwd.
///
/// A candidate counts when it is an existing non-directory with execute permission for this
/// process (`access(X_OK)`). Results are absolute, lexically normalized paths (`.` and `..` removed).
public struct CommandResolver: Sendable {
    /// The directory holding the `ringmaster` binary; empty to skip this step.
    public let binaryDirectory: String
    /// A PATH value: directories separated by `:`.
    public let searchPath: String
    /// The directory that relative paths resolve against.
    public let workingDirectory: String

    /// Makes a resolver.
    public init(binaryDirectory: String, searchPath: String, workingDirectory: String) {
        self.binaryDirectory = binaryDirectory
        self.searchPath = searchPath
        self.workingDirectory = workingDirectory
    }

    /// A resolver for this process: the directory of `/proc/self/exe`, the PATH environment
    /// variable, and the current directory.
    public static func forCurrentProcess() -> CommandResolver {
        let files = FileManager.default
        let executable = (try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        let cwd = files.currentDirectoryPath
        return CommandResolver(binaryDirectory: directory(of: absolute(executable, against: cwd)),
                               searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "",
                               workingDirectory: cwd)
    }

    /// The same resolver with relative paths resolving against `directory` instead.
    public func relativeTo(_ directory: String) -> CommandResolver {
        CommandResolver(binaryDirectory: binaryDirectory, searchPath: searchPath,
                        workingDirectory: Self.absolute(directory, against: workingDirectory))
    }

    /// The absolute path of the program `command` names, or nil when no rule finds an executable.
    public func resolve(_ command: String) -> String? {
        candidates(for: command).first(where: Self.isExecutable)
    }

    /// Why `resolve(command)` returned nil, phrased to follow the quoted command in an error:
    /// `not found beside ringmaster (/opt/rm/bin) or on PATH (/usr/bin:/bin)`, or for a path,
    /// `does not exist (looked for /srv/bin/walk)`.
    public func failureReason(for command: String) -> String {
        guard !command.contains("/") else {
            let path = Self.absolute(command, against: workingDirectory)
            let looked = path == command ? "" : " (looked for \(path))"
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                return "does not exist\(looked)"
            }
            return isDirectory.boolValue ? "is a directory\(looked)" : "is not executable\(looked)"
        }
        let beside = binaryDirectory.isEmpty ? "" : "beside ringmaster (\(binaryDirectory)) or "
        let path = searchPath.isEmpty ? "on PATH (PATH is empty)" : "on PATH (\(searchPath))"
        var reason = "not found \(beside)\(path)"
        if let near = nearbyProgram(for: command) { reason += "; did you mean '\(near)'?" }
        return reason
    }

    /// Every path the rules would try for `command`, in order.
    func candidates(for command: String) -> [String] {
        if command.contains("/") { return [Self.absolute(command, against: workingDirectory)] }
        var directories: [String] = []
        if !binaryDirectory.isEmpty { directories.append(binaryDirectory) }
        directories += searchPath.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        return directories.map { Self.normalize($0 + "/" + command) }
    }

    /// A program beside ringmaster whose name is close to `command` (a likely typo).
    private func nearbyProgram(for command: String) -> String? {
        guard !binaryDirectory.isEmpty,
              let names = try? FileManager.default.contentsOfDirectory(atPath: binaryDirectory) else { return nil }
        let programs = names.filter { Self.isExecutable(binaryDirectory + "/" + $0) }.sorted()
        return Suggestion.closest(to: command, among: programs)
    }

    /// An existing non-directory this process may execute.
    static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        let files = FileManager.default
        return files.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && files.isExecutableFile(atPath: path)
    }

    /// `path` made absolute against `base` and normalized.
    static func absolute(_ path: String, against base: String) -> String {
        normalize(path.hasPrefix("/") ? path : base + "/" + path)
    }

    /// The directory part of an absolute path (`/` for top-level entries).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Removes empty and `.` components and folds `..` lexically, like Go's `filepath.Clean`;
    /// symbolic links are not consulted.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}
