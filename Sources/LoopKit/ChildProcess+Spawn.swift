import CLibUV
import Glibc
import SystemKit

extension ChildProcess {
    /// Starts a child on `loop` (see `SpawnOptions` for exactly what it gets).
    ///
    /// `onOutput` gets each line of the child's stdout and stderr, without its line ending, in
    /// order within each stream; `onExit` runs once, after the last line (see `ChildProcess`).
    /// Returns once the child has exec'd the program, so a failed exec (missing program, not
    /// executable, bad working directory) is thrown here, not reported as an exit.
    /// The corresponding C function is `uv_spawn`.
    public static func spawn(
        loop: Loop,
        options: SpawnOptions,
        onOutput: @escaping (OutputStream, String) -> Void,
        onExit: @escaping (ProcessExit) -> Void
    ) throws(SpawnError) -> ChildProcess {
        if let problem = options.problem() {
            throw SpawnError(executable: options.executable, errno: .invalidArgument, reason: problem)
        }
        let arguments = CStringArray([options.argv0 ?? options.executable] + options.arguments)
        defer { arguments.free() }
        let environment = CStringArray(options.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        defer { environment.free() }

        // The handles are initialised before the call and, on failure, closed (not just freed):
        // uv_spawn initialises the process handle and may have opened the pipes.
        let process = UnsafeMutablePointer<uv_process_t>.allocate(capacity: 1)
        process.initialize(to: uv_process_t())
        let pipes = [stdoutPipe, stderrPipe].map { _ in
            let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
            pipe.initialize(to: uv_pipe_t())
            let result = uv_pipe_init(loop.handle, pipe, 0)
            precondition(result == 0, "uv_pipe_init cannot fail: \(result)")
            return pipe
        }
        var stdio = stdioContainers(options: options, pipes: pipes)
        let result = options.executable.withCString { file in
            withOptionalCString(options.workingDirectory) { workingDirectory in
                stdio.withUnsafeMutableBufferPointer { stdio in
                    var spawnOptions = uv_process_options_t()
                    spawnOptions.exit_cb = childExitCallback
                    spawnOptions.file = file
                    spawnOptions.args = arguments.pointer
                    spawnOptions.env = environment.pointer
                    spawnOptions.cwd = workingDirectory
                    spawnOptions.flags = options.newProcessGroup ? UV_PROCESS_DETACHED.rawValue : 0
                    spawnOptions.stdio_count = Int32(stdio.count)
                    spawnOptions.stdio = stdio.baseAddress
                    return uv_spawn(loop.handle, process, &spawnOptions)
                }
            }
        }
        if result != 0 {
            Handles.close(process)
            pipes.forEach { Handles.close($0) }
            throw SpawnError(executable: options.executable, code: result)
        }
        return ChildProcess(
            pid: process.pointee.pid, options: options, process: process, pipes: pipes,
            onOutput: onOutput, onExit: onExit
        )
    }

    private static let stdoutPipe = 1
    private static let stderrPipe = 2

    /// Child descriptor table: 0 ignored (libuv opens /dev/null), 1 and 2 new pipes the child
    /// writes, then the inherited descriptors at their targets and UV_IGNORE in the gaps (libuv
    /// leaves a gap at 3 or above untouched: close-on-exec descriptors there are gone after exec).
    private static func stdioContainers(
        options: SpawnOptions, pipes: [UnsafeMutablePointer<uv_pipe_t>]
    ) -> [uv_stdio_container_t] {
        let highest = options.inherited.map(\.target).max() ?? 2
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: Int(max(highest, 2)) + 1)
        stdio[0].flags = UV_IGNORE
        for (index, pipe) in zip([stdoutPipe, stderrPipe], pipes) {
            stdio[index].flags = uv_stdio_flags(rawValue: UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue)
            stdio[index].data.stream = Handles.stream(pipe)
        }
        for (source, target) in options.inherited {
            stdio[Int(target)].flags = UV_INHERIT_FD
            stdio[Int(target)].data.fd = source.rawValue
        }
        return stdio
    }
}

/// A NULL-terminated array of `strdup`ed C strings (argv, envp) that lives until `free()`.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            guard let copy = strdup(string) else { fatalError("strdup: out of memory") }
            pointer[index] = copy
        }
        pointer[strings.count] = nil
    }

    func free() {
        var index = 0
        while let string = pointer[index] {
            Glibc.free(string)
            index += 1
        }
        pointer.deallocate()
    }
}

/// Calls `body` with a C string for `string`, or with nil.
private func withOptionalCString<Result>(
    _ string: String?, _ body: (UnsafePointer<CChar>?) -> Result
) -> Result {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
