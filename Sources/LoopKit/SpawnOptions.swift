import CLibUV
import SystemKit

/// What to run and what the child gets.
///
/// The child gets exactly: stdin from /dev/null, stdout and stderr connected to the supervisor
/// (read line by line), the `inherited` descriptors at their target numbers, and `environment` as
/// its whole environment. One caveat from libuv's fork/exec: any descriptor the parent holds
/// *without* close-on-exec also survives into the child, so create every descriptor with
/// O_CLOEXEC (the `inherited` sources may have it: they are duplicated onto their targets).
public struct SpawnOptions: Sendable {
    /// The program: a path, or a name looked up on the PATH of `environment` (execvp).
    public var executable: String
    /// The arguments after argv[0].
    public var arguments: [String]
    /// argv[0] as the child sees it; nil means `executable`.
    public var argv0: String?
    /// The child's complete environment (nothing is inherited from the parent's).
    public var environment: [String: String]
    /// The child's working directory; nil keeps the parent's.
    public var workingDirectory: String?
    /// Descriptors the child gets at fixed numbers (`target` ≥ 3, each target once), e.g. the ring's
    /// memfd at 3. The sources stay open in the parent; the caller closes them when it wants.
    public var inherited: [(source: FileDescriptor, target: Int32)]
    /// Makes the child call setsid() before exec: it leads its own session and process group, so
    /// `ChildProcess.killGroup` reaches everything it starts (unless a descendant leaves the group).
    public var newProcessGroup: Bool
    /// The longest line delivered to `onOutput`, in bytes; longer lines arrive in pieces.
    public var maxLineLength: Int
    /// How long to wait, after the child exited, for its stdout and stderr to reach EOF before
    /// reading what is already buffered and closing them. A descendant that inherited them may keep
    /// them open forever; this bound keeps such a child's exit from being reported never.
    /// nil waits for EOF however long it takes.
    public var outputDrainGrace: Duration?

    /// Describes a child; see each property.
    public init(
        executable: String,
        arguments: [String] = [],
        argv0: String? = nil,
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        inherited: [(source: FileDescriptor, target: Int32)] = [],
        newProcessGroup: Bool = false,
        maxLineLength: Int = 16384,
        outputDrainGrace: Duration? = .seconds(1)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.argv0 = argv0
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.inherited = inherited
        self.newProcessGroup = newProcessGroup
        self.maxLineLength = maxLineLength
        self.outputDrainGrace = outputDrainGrace
    }

    /// The highest child descriptor number `inherited` may use.
    public static let maxInheritedTarget: Int32 = 1023

    /// Checks what libuv would reject late or silently misuse; returns what is wrong, if anything.
    func problem() -> String? {
        if executable.isEmpty { return "the executable is empty" }
        let strings = [executable] + arguments + [argv0, workingDirectory].compactMap { $0 }
        if strings.contains(where: { $0.utf8.contains(0) }) {
            return "an argument, the executable or the working directory contains a NUL byte"
        }
        for (name, value) in environment {
            if name.isEmpty || name.utf8.contains(UInt8(ascii: "=")) || name.utf8.contains(0) {
                return "environment variable name \"\(name)\" is empty or contains '=' or NUL"
            }
            if value.utf8.contains(0) { return "environment variable \(name) contains a NUL byte" }
        }
        if maxLineLength <= 0 { return "maxLineLength must be positive (got \(maxLineLength))" }
        var targets = Set<Int32>()
        for (source, target) in inherited {
            if !(3...Self.maxInheritedTarget).contains(target) {
                return "inherited descriptor target \(target) is outside 3...\(Self.maxInheritedTarget)"
            }
            if source.rawValue < 0 { return "inherited source descriptor \(source.rawValue) is negative" }
            if !targets.insert(target).inserted { return "inherited descriptor target \(target) is given twice" }
        }
        return nil
    }
}

/// How a child ended.
public enum ProcessExit: Hashable, Sendable, CustomStringConvertible {
    /// It called exit with this status (0...255).
    case exited(Int32)
    /// A signal ended it.
    case signaled(Signal)

    /// "exited with status 3", "killed by SIGKILL".
    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "killed by \(signal.name)"
        }
    }
}

/// A child could not be started: names the program and why.
///
/// `description` reads like "cannot start /x/y: no such file or directory (ENOENT)".
public struct SpawnError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The program that was to run.
    public let executable: String
    /// The error behind it: from `uv_spawn` (a failed fork, chdir or exec in the child), or
    /// EINVAL for options refused before trying.
    public let errno: Errno
    /// What went wrong, e.g. "no such file or directory (ENOENT)".
    public let reason: String

    /// Records why `executable` could not be started.
    public init(executable: String, errno: Errno, reason: String) {
        self.executable = executable
        self.errno = errno
        self.reason = reason
    }

    /// An error from libuv's negative error `code`.
    init(executable: String, code: Int32) {
        self.init(executable: executable, errno: Errno(rawValue: -code), reason: Handles.describe(code: code))
    }

    /// "cannot start /x/y: no such file or directory (ENOENT)".
    public var description: String { "cannot start \(executable): \(reason)" }
}
