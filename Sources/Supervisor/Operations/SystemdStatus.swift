/// An instance as the systemd readiness rule and status line see it: a plain value, so both are
/// pure functions, tested without processes or clocks.
public struct SystemdInstanceView: Hashable, Sendable {
    /// Where the instance is in its life.
    public enum Phase: Hashable, Sendable {
        /// Not started yet.
        case starting
        /// Its process runs.
        case running
        /// Its process ended; what it committed is still being drained.
        case exited
        /// Waiting for its restart; `after` says how the last process ended (`exit 1`, `SIGKILL`).
        case restarting(after: String)
        /// Done for good: success (`on-failure`, `never`).
        case finished
        /// Out of restarts, or failed under `never`.
        case failed(String)
        /// Stopped by shutdown.
        case stopped

        /// Finished, failed or stopped: nothing more will happen to it.
        public var isSettled: Bool {
            switch self {
            case .finished, .failed, .stopped: true
            case .starting, .running, .exited, .restarting: false
            }
        }
    }

    /// `<worker>.<index>`.
    public var label: String
    public var phase: Phase
    /// Its current process stored its pid in the segment header (offset 640), or the ring holds a
    /// record it committed.
    public var attached: Bool
    /// Nanoseconds since its current process was spawned (meaningful while `running`).
    public var runningFor: UInt64

    public init(label: String, phase: Phase, attached: Bool = false, runningFor: UInt64 = 0) {
        self.label = label
        self.phase = phase
        self.attached = attached
        self.runningFor = runningFor
    }
}

/// When the supervisor tells systemd `READY=1`.
///
/// The service is ready once every instance has come up at least once. An instance comes up when
/// its process runs and has attached to its ring (an SDK producer stores its pid in the header
/// as it attaches; any producer's first committed record counts too), when it has run for
/// `attachGrace` without attaching (a plain program that will never attach must not hold the
/// service back for ever), or when it has settled (finished, failed or stopped). Coming up is
/// remembered: an instance that attached and then restarts does not take readiness back.
public enum SystemdReadiness {
    /// How long a running instance that has not attached holds readiness back.
    public static let attachGrace: Duration = .seconds(2)

    /// Why an instance counts as up.
    public enum Up: Hashable, Sendable {
        /// Its process attached to its ring (or committed a record).
        case attached
        /// It finished, failed or was stopped.
        case settled
        /// Its process ran for the attach grace without attaching.
        case unattached
    }

    /// Whether `view` is up now, and why; nil while it is not.
    public static func up(_ view: SystemdInstanceView, grace: Duration = attachGrace) -> Up? {
        if view.phase.isSettled { return .settled }
        guard view.phase == .running else { return nil }
        if view.attached { return .attached }
        let (seconds, attoseconds) = grace.components
        let graceNanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
        return view.runningFor >= graceNanoseconds ? .unattached : nil
    }
}

/// The `STATUS=` line: one line that says how many instances run and what went wrong, e.g.
/// `3 of 3 instances running`, `2 of 3 instances running; w.1 restarting after exit 1`,
/// `stopping: 1 of 3 instances still running, 2 stopped`.
public enum SystemdStatus {
    /// Restarting or failed instances named in one line; the rest are counted.
    public static let namedLimit = 3

    /// The status line for `views`; `stopping` once shutdown began or the run is ending.
    public static func line(_ views: [SystemdInstanceView], stopping: Bool) -> String {
        let total = views.count
        let noun = total == 1 ? "instance" : "instances"
        var text: String
        if stopping {
            let left = views.filter { !$0.phase.isSettled }.count
            text = left == 0 ? "stopping: no instance running" : "stopping: \(left) of \(total) \(noun) still running"
        } else {
            text = "\(views.filter { $0.phase == .running }.count) of \(total) \(noun) running"
        }
        var finished = 0, failed = 0, stopped = 0
        var named: [String] = []
        for view in views {
            switch view.phase {
            case .finished: finished += 1
            case .stopped: stopped += 1
            case .failed(let why):
                failed += 1
                named.append("\(view.label) failed: \(why)")
            case .restarting(let after):
                named.append("\(view.label) restarting after \(after)")
            case .starting, .running, .exited:
                break
            }
        }
        for (count, word) in [(finished, "finished"), (failed, "failed"), (stopped, "stopped")] where count > 0 {
            text += ", \(count) \(word)"
        }
        for item in named.prefix(namedLimit) { text += "; " + item }
        if named.count > namedLimit { text += "; and \(named.count - namedLimit) more" }
        // One message line per assignment: a newline inside a value would start a new one.
        return String(text.map { $0.isNewline ? " " : $0 })
    }
}
