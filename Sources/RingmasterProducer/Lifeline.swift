import Glibc
import Synchronization

/// Watches the lifeline pipe on a thread of its own and ends the process when the supervisor is
/// gone (EOF or hang-up), so a blocked or idle producer never waits forever for a dead reader.
enum Lifeline {
    /// The exit status of a producer whose supervisor vanished (EX_TEMPFAIL).
    static let exitStatus: CInt = 75

    nonisolated(unsafe) private static var watchedDescriptor: CInt = -1
    /// A process to SIGTERM before exiting (0: none); see `Producer.terminateOnLifelineLoss`.
    static let companion = Atomic<Int32>(0)

    /// Starts the watcher once for `descriptor`.
    static func watch(_ descriptor: CInt) {
        guard watchedDescriptor == -1 else { return }
        watchedDescriptor = descriptor
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, CInt(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 64 << 10)
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { _ in
            Lifeline.run(Lifeline.watchedDescriptor)
            return nil
        }, nil)
        pthread_attr_destroy(&attributes)
        precondition(status == 0, "cannot start the lifeline thread: \(status)")
    }

    private static func run(_ descriptor: CInt) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let n = poll(&entry, 1, -1)
            if n == -1 {
                if errno == EINTR { continue }
                // Cannot watch the lifeline any more: leaving would risk outliving the supervisor.
                supervisorGone()
            }
            // Anything readable: drain it; EOF (0) or an error means the write end is gone.
            let got = read(descriptor, &buffer, buffer.count)
            if got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN) {
                supervisorGone()
            }
        }
    }

    private static func supervisorGone() -> Never {
        let pid = companion.load(ordering: .acquiring)
        if pid > 0 { kill(pid, SIGTERM) }
        _exit(exitStatus)
    }
}

extension Producer {
    /// Names a process that gets SIGTERM when the supervisor is gone, just before this producer
    /// exits with status 75; 0 names none. For a producer that runs a command of its own
    /// (`ringmaster-pipe`), so the command does not outlive both. Clear it before reaping that
    /// process, so a reused pid is never signalled. Safe from any thread.
    public static func terminateOnLifelineLoss(_ pid: Int32) {
        Lifeline.companion.store(pid, ordering: .releasing)
    }
}
