import CShim
import ExecConsumerCore
import Glibc
import SystemKit

/// The exec consumer's child process: the one file of the plugin with process and descriptor
/// calls. Started with `posix_spawn`, standard input a pipe that only this object writes,
/// standard output and error inherited from the supervisor, in a process group of its own (so a
/// Ctrl-C at the terminal reaches the supervisor, which ends the input, and not the child), in
/// the supervisor's session (so the supervisor's orphan reaper leaves it to us).
final class ExecChild {
    let pid: pid_t
    /// When it was started (monotonic nanoseconds), for `reset_after`.
    let startedAt: UInt64
    /// The write end of its standard input; nil once closed.
    private var input: FileDescriptor?
    /// Its status once reaped.
    private(set) var exit: ChildExit?
    /// `F_GETPIPE_SZ`, which Glibc's module leaves out (it is GNU-only).
    private static let getPipeSize: CInt = 1032

    /// What a write to the child did.
    enum WriteOutcome {
        case wrote(Int)
        /// No reader is left: the child ended or closed its standard input.
        case brokenPipe
        case failed(SystemError)
    }

    /// Starts `program` with `arguments` (argv[0] included) and `environment` ("NAME=value").
    /// Throws when the program cannot be started (glibc's posix_spawn reports a failed exec).
    /// The corresponding C function is `posix_spawn`.
    init(program: String, arguments: [String], environment: [String]) throws(SystemError) {
        var ends: [CInt] = [-1, -1]
        try valueOrErrno("pipe2") { cshim_pipe_cloexec(&ends) }
        let readEnd = FileDescriptor(rawValue: ends[0])
        let writeEnd = FileDescriptor(rawValue: ends[1])
        defer { readEnd.close() }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on fd 0; both pipe ends themselves close on exec.
        posix_spawn_file_actions_adddup2(&actions, readEnd.rawValue, 0)

        // The consumer thread may block signals, and the supervisor ignores SIGPIPE: the child
        // starts with an empty mask and default dispositions, in a new process group.
        let attributes = SpawnAttributes(newProcessGroup: true)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, program, &actions, &attributes.raw, argv, envp)
        guard status == 0 else {
            writeEnd.close()
            throw SystemError("posix_spawn", program, errno: Errno(rawValue: status))
        }
        pid = child
        startedAt = MonotonicClock.now()
        input = writeEnd
    }

    deinit {
        assert(input == nil && exit != nil, "leak of exec child \(pid): not reaped")
    }

    /// Writes some of `bytes` (blocking: a slow child slows the caller). The corresponding C
    /// function is `write`.
    func write(_ bytes: UnsafeRawBufferPointer) -> WriteOutcome {
        guard let input else { return .brokenPipe }
        while true {
            let n = Glibc.write(input.rawValue, bytes.baseAddress, bytes.count)
            if n >= 0 { return .wrote(n) }
            switch Errno.current {
            case .interrupted: continue
            case Errno(rawValue: EPIPE): return .brokenPipe
            case let error: return .failed(SystemError("write", "stdin of pid \(pid)", errno: error))
            }
        }
    }

    /// Bytes written but not read: still in the pipe. Nil when unknown or already closed.
    /// The corresponding C call is `ioctl(FIONREAD)`, on the write end.
    func unreadBytes() -> Int? {
        guard let input else { return nil }
        var count: CInt = 0
        return ioctl(input.rawValue, UInt(FIONREAD), &count) == 0 ? Int(count) : nil
    }

    /// The pipe's capacity: at most this many bytes are ever unread. `fcntl(F_GETPIPE_SZ)`.
    func pipeCapacity() -> Int {
        guard let input else { return 65536 }
        let size = fcntl(input.rawValue, Self.getPipeSize)
        return size > 0 ? Int(size) : 65536
    }

    /// Ends the child's input: it reads end of file.
    func closeInput() {
        input?.close()
        input = nil
    }

    /// Its status if it has ended (reaped now or before), without waiting.
    /// The corresponding C function is `waitpid(WNOHANG)`.
    func exitIfEnded() -> ChildExit? {
        if let exit { return exit }
        var raw: CInt = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid { return reaped(raw) }
        if result == -1 && Errno.current == Errno(rawValue: ECHILD) { return reaped(nil) }
        return nil
    }

    /// Waits up to `grace` for the child to end, then SIGKILLs its process group and reaps it.
    /// Returns its status and whether it had to be killed.
    func waitForExit(within grace: Duration) -> (exit: ChildExit, killed: Bool) {
        let deadline = MonotonicClock.now() &+ UInt64(grace.components.seconds) * 1_000_000_000
            &+ UInt64(grace.components.attoseconds / 1_000_000_000)
        while MonotonicClock.now() < deadline {
            if let exit = exitIfEnded() { return (exit, false) }
            usleep(5_000)
        }
        if let exit = exitIfEnded() { return (exit, false) }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        var raw: CInt = 0
        while true {
            let result = waitpid(pid, &raw, 0)
            if result == pid { return (reaped(raw), true) }
            if result == -1 && Errno.current == .interrupted { continue }
            return (reaped(nil), true)
        }
    }

    /// Records the status and, as for workers, kills what is left of the child's process group
    /// so no descendant keeps its standard input open.
    private func reaped(_ raw: CInt?) -> ChildExit {
        let status: ChildExit
        if let raw {
            let signal = raw & 0x7F
            status = signal == 0 ? .exited((raw >> 8) & 0xFF) : .signaled(signal)
        } else {
            status = .unknown
        }
        exit = status
        kill(-pid, SIGKILL)
        return status
    }
}

/// Where a command is: a path (relative to `directory`) or a name on `searchPath`.
enum CommandLookup {
    /// The executable's path, or a message that says what was tried.
    static func resolve(_ command: String, relativeTo directory: String?, searchPath: String) -> Result<String, LookupError> {
        if command.contains("/") {
            guard command.hasPrefix("/") || directory != nil else { return .success(command) }
            let path = command.hasPrefix("/") ? command : directory! + "/" + command
            if access(path, F_OK) != 0 { return .failure(LookupError("'\(command)' does not exist (looked for \(path))")) }
            if access(path, X_OK) != 0 { return .failure(LookupError("'\(command)' is not executable (\(path))")) }
            return .success(path)
        }
        let directories = searchPath.split(separator: ":", omittingEmptySubsequences: false).map { $0.isEmpty ? "." : String($0) }
        for directory in directories {
            let path = directory + "/" + command
            var info = stat()
            if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0 {
                return .success(path)
            }
        }
        return .failure(LookupError("'\(command)' is not a program on PATH (\(searchPath))"))
    }

    struct LookupError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
