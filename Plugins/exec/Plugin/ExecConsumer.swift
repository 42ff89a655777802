import ExecConsumerCore
import Glibc
import RingmasterConsumerKit
import SystemKit

/// `exec`: streams records to a program's standard input (JSON Lines or binary frames), restarts
/// it by a worker-style restart policy when it dies, and resends what it had not read.
///
/// Every call comes from the consumer's own thread, so writes block: a slow child slows the
/// ring (backpressure) and nothing is buffered beyond the current batch and one pipe's worth of
/// already-written records (`ReplayJournal`).
final class ExecConsumer: RingmasterConsumer {
    private let host: ConsumerHost
    private let settings: ExecSettings
    private let program: String
    private var planner: ChildRestartPlanner
    private var journal: ReplayJournal
    private var child: ExecChild?
    private var generation = 0
    private var random = SystemRandomNumberGenerator()
    /// Set when the child will not be restarted: every later consume fails with it.
    private var failure: ExecError?

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        let checked = try ExecSettings(settings)
        // A name on PATH can be checked here; a path needs the manifest's directory (create).
        if !checked.command.contains("/"),
           case .failure(let problem) = CommandLookup.resolve(checked.command, relativeTo: nil, searchPath: searchPath(checked)) {
            throw SettingsError(key: "command", problem.description)
        }
    }

    private static func searchPath(_ settings: ExecSettings) -> String {
        settings.environment.last { $0.name == "PATH" }?.value
            ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    }

    init(settings raw: ConsumerSettings, host: ConsumerHost) throws {
        self.host = host
        settings = try ExecSettings(raw)
        switch CommandLookup.resolve(settings.command, relativeTo: host.manifestDirectory, searchPath: Self.searchPath(settings)) {
        case .success(let path): program = path
        case .failure(let problem): throw SettingsError(key: "command", problem.description)
        }
        planner = ChildRestartPlanner(settings.restart)
        // Linux's default pipe capacity, until the child's pipe says what it is.
        journal = ReplayJournal(retention: 65536)
        do {
            child = try startChild()
        } catch {
            throw SettingsError(key: "command", "cannot be started: \(error)")
        }
        journal = ReplayJournal(retention: child?.pipeCapacity() ?? 65536)
    }

    deinit {
        // close() reaps the child; after a failed create there is none.
        if let child, child.exit == nil {
            child.closeInput()
            _ = child.waitForExit(within: .zero)
        }
    }

    func consume(_ batch: ConsumerBatch) throws {
        if let failure { throw failure }
        // A child that died between batches is noticed (and replaced) before writing to it.
        if let child, let exit = child.exitIfEnded() { try replace(child, after: exit, killed: false) }
        journal.append(RecordEncoding.encode(batch, as: settings.format))
        try drain()
    }

    /// Nothing to make durable: the pipe has no buffer of ours. A child that died with records
    /// still unread in its pipe is replaced now, so they are not left there.
    func flush() throws {
        if let failure { throw failure }
        if let child, let exit = child.exitIfEnded(), (child.unreadBytes() ?? 1) > 0 {
            try replace(child, after: exit, killed: false)
            try drain()
        }
    }

    /// Ends the child's input and waits `grace` for it to finish (then SIGKILL). A child that
    /// ends unsuccessfully after its input ended is reported as an error.
    func close() throws {
        guard failure == nil, child != nil else { return }
        try flush()
        guard let child else { return }
        let pid = child.pid
        child.closeInput()
        let (exit, killed) = child.waitForExit(within: settings.grace)
        self.child = nil
        if killed {
            throw ExecError("\(settings.command) (pid \(pid)) did not exit within \(describe(settings.grace)) of the end of its input: SIGKILL")
        }
        if !planner.isSuccess(exit) {
            throw ExecError("\(settings.command) (pid \(pid)) ended with \(exit) after the end of its input")
        }
        host.log(.debug, "\(settings.command) (pid \(pid)) ended with \(exit) after the end of its input")
    }

    /// Writes everything queued; on a broken pipe, replaces the child and goes on.
    private func drain() throws {
        while let child {
            let outcome = journal.pending { child.write($0) }
            switch outcome {
            case nil: return
            case .wrote(let count)?: journal.didWrite(count)
            case .brokenPipe?:
                let (exit, killed) = child.waitForExit(within: settings.grace)
                try replace(child, after: exit, killed: killed)
            case .failed(let error)?:
                throw ExecError("\(settings.command) (pid \(child.pid)): \(error)")
            }
        }
        if let failure { throw failure }
    }

    /// The child ended: by the restart policy, start another after the backoff and queue what the
    /// old one had not read; or fail (every later consume fails too).
    private func replace(_ old: ExecChild, after firstExit: ChildExit, killed: Bool) throws {
        let unread = old.unreadBytes()
        old.closeInput()
        if old.exit == nil { _ = old.waitForExit(within: .zero) }
        child = nil
        var exit = firstExit
        var who = "\(settings.command) (pid \(old.pid))"
        var how = killed ? "closed its input and was still running \(describe(settings.grace)) later: SIGKILL" : "ended with \(exit)"
        var startedAt = old.startedAt
        var resent: Int?
        while true {
            switch planner.decide(exit: exit, startedAt: startedAt, now: MonotonicClock.now(), using: &random) {
            case .finished:
                return try give(up: "\(who) \(how) before the end of the stream; restart policy \(settings.restart.policy.rawValue) does not restart a successful exit, so records are no longer delivered")
            case .failed(let why):
                return try give(up: "\(who) failed: \(why)")
            case .restart(let delay, let attempt):
                if resent == nil { resent = journal.rewind(unread: unread) }
                host.log(.warning, "\(who) \(how); restarting in \(describe(delay)) (attempt \(attempt)), resending \(resent ?? 0) record(s) it had not read completely")
                sleep(for: delay)
                generation += 1
                do {
                    child = try startChild()
                    return
                } catch {
                    // As for workers: a failed start counts as exit 127 after a run of zero length.
                    host.log(.error, "cannot start \(program): \(error)")
                    exit = .exited(127)
                    who = settings.command
                    how = "could not be started (\(error))"
                    startedAt = MonotonicClock.now()
                }
            }
        }
    }

    private func give(up message: String) throws {
        journal.discardAll()
        let error = ExecError(message)
        failure = error
        throw error
    }

    private func startChild() throws(SystemError) -> ExecChild {
        var environment: [String: String] = [:]
        var order: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals])
                if environment[name] == nil { order.append(name) }
                environment[name] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        var overrides = settings.environment.map { ($0.name, $0.value) }
        overrides.append(("RINGMASTER_CONSUMER", host.consumerName))
        overrides.append(("RINGMASTER_EXEC_GENERATION", String(generation)))
        for (name, value) in overrides {
            if environment[name] == nil { order.append(name) }
            environment[name] = value
        }
        let child = try ExecChild(program: program, arguments: [settings.command] + settings.arguments,
                                  environment: order.map { "\($0)=\(environment[$0]!)" })
        host.log(.debug, "started \(program) (pid \(child.pid), generation \(generation))")
        return child
    }

    private func sleep(for delay: Duration) {
        let parts = delay.components
        var request = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

/// `50ms` under a second, `1.5s` above, as the supervisor's log prints delays.
func describe(_ duration: Duration) -> String {
    let parts = duration.components
    let seconds = Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
    return "\((seconds * 100).rounded() / 100)s"
}

/// Why the exec consumer failed, in words for the supervisor's log.
struct ExecError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: ExecConsumer.self)
}
