import CShim
import Glibc
import RingmasterProducer
import Synchronization
import SystemKit

/// How the command ended.
enum CommandExit: Equatable, CustomStringConvertible {
    case exited(CInt)
    case signaled(CInt)

    /// What ringmaster-pipe exits with: the code, or 128 + the signal, as a shell reports it.
    var status: CInt {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }

    var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

/// The command whose output becomes records: the one file of ringmaster-pipe with process and
/// signal calls.
///
/// Started with `posix_spawnp` (PATH is searched), its standard output a pipe that only
/// ringmaster-pipe reads, standard input and standard error inherited (the supervisor logs the
/// worker's standard error), with an empty signal mask and default signal actions. It stays in
/// ringmaster-pipe's process group, the instance's group: the supervisor's stop signal and its
/// SIGKILL of the group when the instance ends reach it as well.
///
/// It gets the environment of ringmaster-pipe minus the variables that lead to the ring
/// (RINGMASTER_SEGMENT, _NOTIFY, _LIFELINE, _RESUME, _RESUME_SKIP): a command is not a producer.
/// RINGMASTER_WORKER, _INSTANCE, _INSTANCES and _GENERATION stay, so a command can shard or
/// tell a restart.
final class CommandRunner {
    /// The command's pid.
    let pid: pid_t
    /// The read end of its standard output; ringmaster-pipe closes it at exit.
    let output: FileDescriptor

    /// The signals ringmaster-pipe forwards to the command.
    static let forwardedSignals: [CInt] = [SIGTERM, SIGINT, SIGHUP]
    /// Variables the command must not see.
    private static let hiddenVariables = ["RINGMASTER_SEGMENT=", "RINGMASTER_NOTIFY=", "RINGMASTER_LIFELINE=",
                                          "RINGMASTER_RESUME=", "RINGMASTER_RESUME_SKIP="]

    /// Blocks the forwarded signals in the calling thread; threads started afterwards (the SDK's
    /// lifeline watch) inherit the mask, so the main thread alone takes them once `start`
    /// unblocks them. Call before `Producer.attach()`.
    static func holdSignals() {
        var set = forwardedSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the command named by the process's own arguments from `index` on, then forwards
    /// to it the signals held since `holdSignals()`: those that arrived meanwhile at once, later
    /// ones from a handler. Throws when it cannot be started (glibc reports a failed exec).
    /// The corresponding C function is `posix_spawnp`.
    init(argumentsFrom index: Int) throws(SystemError) {
        let argv = PipeSystem.argumentPointers(from: index) + [nil]
        let name = String(cString: argv[0]!)
        var ends: [CInt] = [-1, -1]
        try valueOrErrno("pipe2") { cshim_pipe_cloexec(&ends) }
        let readEnd = FileDescriptor(rawValue: ends[0])
        let writeEnd = FileDescriptor(rawValue: ends[1])
        defer { writeEnd.close() }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on fd 1; both pipe ends themselves close on exec.
        posix_spawn_file_actions_adddup2(&actions, writeEnd.rawValue, 1)

        let attributes = SpawnAttributes()

        var environment: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let variable = entry.pointee {
            if !Self.hiddenVariables.contains(where: { strncmp(variable, $0, strlen($0)) == 0 }) { environment.append(variable) }
            entry += 1
        }
        environment.append(nil)

        var child: pid_t = 0
        let status = posix_spawnp(&child, argv[0]!, &actions, &attributes.raw, argv, environment)
        guard status == 0 else {
            readEnd.close()
            throw SystemError("posix_spawnp", name, errno: Errno(rawValue: status))
        }
        pid = child
        output = readEnd
        Producer.terminateOnLifelineLoss(child)
        Forwarding.start(child: child)
    }

    /// Waits for the command to end and reaps it. It is not reaped before the signal forwarding
    /// and the lifeline hook forget its pid, so neither can hit another process that reuses it.
    /// The corresponding C functions are `waitid(WNOWAIT)` and `waitpid`.
    func wait() throws(SystemError) -> CommandExit {
        var info = siginfo_t()
        try valueOrErrno("waitid", "\(pid)") { waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) }
        Forwarding.stop()
        Producer.terminateOnLifelineLoss(0)
        var raw: CInt = 0
        try valueOrErrno("waitpid", "\(pid)") { waitpid(pid, &raw, 0) }
        output.close()
        return cshim_wifsignaled(raw) != 0 ? .signaled(cshim_wtermsig(raw)) : .exited(cshim_wexitstatus(raw))
    }

    /// Sends the command SIGTERM (when ringmaster-pipe gives up on it).
    func terminate() {
        kill(pid, SIGTERM)
    }

    private static func forwardedSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in forwardedSignals { sigaddset(&set, signal) }
        return set
    }

    /// Signal forwarding, from a handler that only reads two atomics and calls `kill`.
    private enum Forwarding {
        /// The command's pid; 0 once it is gone.
        static let target = Atomic<Int32>(0)
        /// ringmaster-pipe's parent: the supervisor.
        static let supervisor = Atomic<Int32>(0)

        static func start(child: pid_t) {
            supervisor.store(getppid(), ordering: .relaxed)
            target.store(child, ordering: .releasing)
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in Forwarding.forward(signal, info) }
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            for signal in forwardedSignals { sigaction(signal, &action, nil) }
            // What arrived before the command existed never reached it: forward it now.
            var set = forwardedSet()
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            while true {
                let signal = sigtimedwait(&set, nil, &zero)
                if signal > 0 { kill(child, signal); continue }
                if errno == EINTR { continue }
                break
            }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }

        static func stop() {
            target.store(0, ordering: .releasing)
        }

        /// The supervisor stops an instance by signalling its whole process group, which the
        /// command is still in: such a signal reached the command already, and a second copy
        /// could make it skip its own cleanup (many programs take a second SIGINT as "now").
        /// Any other sender's signal is passed on.
        static func forward(_ signal: CInt, _ info: UnsafeMutablePointer<siginfo_t>?) {
            let saved = errno
            defer { errno = saved }
            let child = target.load(ordering: .acquiring)
            guard child > 0 else { return }
            if let info, info.pointee.si_code == SI_USER,
               info.pointee._sifields._kill.si_pid == supervisor.load(ordering: .relaxed),
               getpgid(child) == getpgrp() {
                return
            }
            kill(child, signal)
        }
    }
}
