import CShim
import Glibc
import LoopKit
import Logging
import SystemKit

extension Supervisor {
    /// SIGINT/SIGTERM: stop every worker gracefully; a second one skips the grace period.
    func handleStopSignal(_ signal: Signal) {
        if shuttingDown {
            logger.warning("\(signal.name) again: killing every worker now")
            for instance in instances { instance.process?.killGroup(.kill) }
            killOrphans(signal: SIGKILL)
            return
        }
        logger.info("\(signal.name): stopping every worker")
        beginShutdown()
    }

    /// Sends each running worker its stop signal and starts its grace timer; cancels pending
    /// restarts. The run ends once every ring is drained and every consumer closed.
    public func beginShutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        systemdStopping()
        for instance in instances {
            instance.restartTimer?.close()
            instance.restartTimer = nil
            instance.restartDue = false
            switch instance.state {
            case .waitingRestart, .idle:
                instance.state = .stopped
            case .running:
                signalStop(instance)
            case .held:
                instance.state = .stopped
            default:
                break
            }
        }
        checkRunComplete()
    }

    /// Sends a running instance's group its stop signal and starts its grace timer, after which
    /// the group is killed. Does nothing if it has no process or is already being stopped.
    func signalStop(_ instance: Instance) {
        guard let process = instance.process, instance.graceTimer == nil else { return }
        let stop = instance.worker.stop
        process.killGroup(Signal(rawValue: stop.signal))
        let timer = Timer(loop: loop)
        instance.graceTimer = timer
        timer.start(after: stop.grace) { [unowned self, unowned instance] in
            logger.warning("\(instance.label) still running after its grace period: SIGKILL")
            instance.process?.killGroup(.kill)
            instance.process?.kill(.kill)
        }
    }

    /// Reaps descendants that escaped their group and were re-parented to us (we are a child
    /// subreaper); libuv reaps only the processes it spawned.
    func reapOrphans() {
        let known = Set(instances.compactMap { $0.process?.pid })
        for pid in Orphans.workerDescendants() where !known.contains(pid) {
            var status: CInt = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    /// Ends descendants that escaped their worker's process group.
    func killOrphans(signal: CInt = SIGKILL) {
        let known = Set(instances.compactMap { $0.process?.pid })
        let ownGroup = getpgrp()
        for pid in Orphans.workerDescendants() where !known.contains(pid) {
            // An escaped descendant leads its own group (setsid); its children are in it too.
            let group = getpgid(pid)
            if group > 0 && group != ownGroup { kill(-group, signal) }
            kill(pid, signal)
            // Reaped by the SIGCHLD watch (or by init once we exit); the loop never waits here.
            var status: CInt = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }
}

/// This process's children, from `/proc/self/task/*/children`.
enum Orphans {
    /// The children that came from workers. Every worker leads a session of its own (setsid) and
    /// no descendant can move back into the supervisor's session, so a child in the supervisor's
    /// own session was started by this process itself — by a consumer plugin such as `exec` — and
    /// is left to the code that started it, which reaps it and needs its exit status.
    static func workerDescendants() -> [Int32] {
        let own = getsid(0)
        return children().filter { getsid($0) != own }
    }

    static func children() -> [Int32] {
        var result: [Int32] = []
        guard let dir = opendir("/proc/self/task") else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int(name) != nil else { continue }
            guard let file = fopen("/proc/self/task/\(name)/children", "r") else { continue }
            defer { fclose(file) }
            var text = ""
            var buffer = [CChar](repeating: 0, count: 4096)
            while fgets(&buffer, Int32(buffer.count), file) != nil {
                text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            result += text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }
        return result
    }
}

/// The lifeline: a pipe whose read end every worker inherits and whose write end only the
/// supervisor holds (close-on-exec). When the supervisor dies, workers read EOF and exit.
final class Lifeline {
    let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor
    private var closed = false

    init() throws(SystemError) {
        var fds: [CInt] = [-1, -1]
        try valueOrErrno("pipe2") { cshim_pipe_cloexec(&fds) }
        readEnd = FileDescriptor(rawValue: fds[0])
        writeEnd = FileDescriptor(rawValue: fds[1])
    }

    func close() {
        guard !closed else { return }
        closed = true
        readEnd.close()
        writeEnd.close()
    }

    deinit { close() }
}
