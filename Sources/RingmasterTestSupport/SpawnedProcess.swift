import Glibc
import RingChannel

/// How a child ended.
public enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    case exited(CInt)
    case signaled(CInt)

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

/// A child started with `posix_spawn`, for tests and benchmarks (the supervisor uses libuv).
public final class SpawnedProcess: @unchecked Sendable {
    /// The child's pid.
    public let pid: pid_t
    private var status: ExitStatus?

    private init(pid: pid_t) { self.pid = pid }

    /// Starts `path` with `arguments`, the current environment plus `environment`, and the
    /// `inherited` descriptors dup'ed to their target numbers (close-on-exec cleared there).
    public static func spawn(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                             inherited: [Channel.Inherited] = [], stdoutTo: CInt? = nil,
                             stderrTo: CInt? = nil) throws(SystemError) -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Move sources out of the way first so a target number never clobbers another source.
        var staged: [(CInt, CInt)] = []
        for item in inherited {
            let temp = fcntl(item.source.rawValue, F_DUPFD_CLOEXEC, 100)
            guard temp >= 0 else { throw SystemError("fcntl(F_DUPFD_CLOEXEC)", "\(item.source)") }
            staged.append((temp, item.target))
        }
        defer { for (temp, _) in staged { close(temp) } }
        for (temp, target) in staged { posix_spawn_file_actions_adddup2(&actions, temp, target) }
        if let stdoutTo { posix_spawn_file_actions_adddup2(&actions, stdoutTo, 1) }
        if let stderrTo { posix_spawn_file_actions_adddup2(&actions, stderrTo, 2) }

        var variables = ProcessEnvironment.entries().filter { entry in
            guard let equals = entry.firstIndex(of: "=") else { return true }
            return environment[String(entry[..<equals])] == nil
        }
        for (key, value) in environment { variables.append("\(key)=\(value)") }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Children start with default signal handling whatever the parent ignores.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SystemError("posix_spawn", path, errno: Errno(rawValue: result)) }
        return SpawnedProcess(pid: pid)
    }

    /// Sends `signal` to the child (ignored once it was reaped).
    public func kill(_ signal: CInt) {
        if status == nil { Glibc.kill(pid, signal) }
    }

    /// Waits for the child to end and returns how. The corresponding C function is `waitpid`.
    @discardableResult
    public func wait() -> ExitStatus {
        if let status { return status }
        var raw: CInt = 0
        while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        let result: ExitStatus = (raw & 0x7F) == 0 ? .exited((raw >> 8) & 0xFF) : .signaled(raw & 0x7F)
        status = result
        return result
    }

    /// The exit status if the child has ended, without blocking.
    public func poll() -> ExitStatus? {
        if let status { return status }
        var raw: CInt = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        let result: ExitStatus = (raw & 0x7F) == 0 ? .exited((raw >> 8) & 0xFF) : .signaled(raw & 0x7F)
        status = result
        return result
    }
}

/// The directory holding this executable (`/proc/self/exe`), where the helper programs are built.
public func executableDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return "." }
    let path = String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return String(path[..<slash])
}
