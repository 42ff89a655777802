import Glibc
import LoopKit
import Logging
import SystemKit

/// The supervisor's conversation with systemd in one run (`Type=notify`): `READY=1` once every
/// instance came up (`SystemdReadiness`), `STATUS=` on changes, `STOPPING=1` when the run starts
/// to end, `WATCHDOG=1` every half `WATCHDOG_USEC`.
///
/// Exists only when `NOTIFY_SOCKET` is set. Its timers: the readiness poll (until `READY=1` is
/// sent or the run stops), a one-shot that coalesces the status changes of one loop pass into one
/// message, and the watchdog (only with `WATCHDOG_USEC`). Without systemd nothing here wakes up.
final class SystemdSession {
    /// How often the segment headers are checked for attached producers, until `READY=1`.
    static let readinessPoll: Duration = .milliseconds(10)

    let notifier: SystemdNotifier
    let watchdogInterval: Duration?
    var readinessTimer: Timer?
    var statusTimer: Timer?
    var watchdogTimer: Timer?
    /// Why each instance (by id) came up; nil while it has not.
    var up: [SystemdReadiness.Up?] = []
    var ready = false
    var stopping = false
    var lastStatus: String?

    init(notifier: SystemdNotifier, watchdogInterval: Duration?) {
        self.notifier = notifier
        self.watchdogInterval = watchdogInterval
    }

    /// Reads `NOTIFY_SOCKET` and the watchdog variables, then removes them from this process's
    /// environment (as `sd_notify` with `unset_environment` does), so no worker and no program a
    /// consumer starts sees them. Nil when not run by systemd, or when the socket is unusable
    /// (logged; the run goes on without notifications). Call it before any thread starts:
    /// `unsetenv` is not thread-safe.
    static func fromEnvironment(logger: Logger) -> SystemdSession? {
        let environment = ProcessEnvironment.current()
        guard environment["NOTIFY_SOCKET"] != nil else { return nil }
        for name in SystemdEnvironment.variables { unsetenv(name) }
        do {
            guard let settings = try SystemdEnvironment.parse(environment, pid: getpid()) else { return nil }
            return SystemdSession(notifier: try SystemdNotifier(address: settings.address, logger: logger),
                                  watchdogInterval: settings.watchdogInterval)
        } catch {
            logger.warning("cannot notify systemd: \(error); the run goes on without notifications")
            return nil
        }
    }

    /// Stops every timer and closes the socket. Idempotent.
    func close() {
        for timer in [readinessTimer, statusTimer, watchdogTimer] { timer?.close() }
        readinessTimer = nil
        statusTimer = nil
        watchdogTimer = nil
        notifier.close()
    }
}

extension Supervisor {
    /// Starts the systemd conversation once every instance was started: the readiness poll and
    /// the watchdog. Does nothing without `NOTIFY_SOCKET`.
    func startSystemd() {
        guard let systemd, !systemd.stopping else { return }
        if let interval = systemd.watchdogInterval {
            let timer = Timer(loop: loop)
            systemd.watchdogTimer = timer
            timer.start(after: interval, repeating: interval) { [unowned systemd] in
                systemd.notifier.send(["WATCHDOG=1"])
            }
        }
        let poll = Timer(loop: loop)
        systemd.readinessTimer = poll
        poll.start(after: SystemdSession.readinessPoll, repeating: SystemdSession.readinessPoll) { [unowned self] in
            checkSystemdReadiness()
        }
        checkSystemdReadiness()
    }

    /// An instance changed state: the status line is sent on the next loop pass if it changed
    /// (the changes of one pass, e.g. a whole pool starting, make one message).
    func systemdInstanceChanged() {
        guard let systemd, systemd.statusTimer?.isActive != true else { return }
        let timer = systemd.statusTimer ?? Timer(loop: loop)
        systemd.statusTimer = timer
        timer.start(after: .zero) { [unowned self] in
            if let status = systemdStatusIfChanged() { self.systemd?.notifier.send([status]) }
        }
    }

    /// The run starts to end (a stop signal, or every instance settled): `STOPPING=1`, once;
    /// when the stopped run then ends, its last status line.
    /// A run that ends by itself before `READY=1` was sent sends it first (every instance has
    /// settled, so the rule holds): systemd takes a `Type=notify` service that exits without
    /// `READY=1` for one that failed to start.
    func systemdStopping() {
        guard let systemd else { return }
        guard !systemd.stopping else {
            // The loop ends before a coalesced status would go out.
            if let status = systemdStatusIfChanged() { systemd.notifier.send([status]) }
            return
        }
        if !shuttingDown { checkSystemdReadiness() }
        systemd.stopping = true
        systemd.readinessTimer?.close()
        systemd.readinessTimer = nil
        systemd.notifier.send(["STOPPING=1"] + [systemdStatusIfChanged()].compactMap { $0 })
    }

    /// Notes the instances that came up since the last check; once all have, sends `READY=1`
    /// and stops polling.
    private func checkSystemdReadiness() {
        guard let systemd, !systemd.ready, !systemd.stopping else { return }
        if systemd.up.count != instances.count { systemd.up = Array(repeating: nil, count: instances.count) }
        let now = MonotonicClock.now()
        for instance in instances where systemd.up[instance.id] == nil {
            let attached = instance.state == .running
                && (instance.channel.segment.producerPID != 0 || instance.reader.position > 0)
            let view = SystemdInstanceView(label: instance.label, phase: systemdPhase(instance), attached: attached,
                                           runningFor: now &- instance.startedAt)
            systemd.up[instance.id] = SystemdReadiness.up(view)
        }
        guard systemd.up.allSatisfy({ $0 != nil }) else { return }
        systemd.ready = true
        systemd.readinessTimer?.close()
        systemd.readinessTimer = nil
        let count = { (reason: SystemdReadiness.Up) in "\(systemd.up.filter { $0 == reason }.count)" }
        logger.info("systemd: READY=1", metadata: ["attached": "\(count(.attached))", "unattached": "\(count(.unattached))",
                                                   "settled": "\(count(.settled))"])
        systemd.notifier.send(["READY=1"] + [systemdStatusIfChanged()].compactMap { $0 })
    }

    /// `STATUS=<line>` when the line differs from the last one sent (and records it as sent).
    private func systemdStatusIfChanged() -> String? {
        guard let systemd else { return nil }
        let views = instances.filter { !$0.retired }.map { SystemdInstanceView(label: $0.label, phase: systemdPhase($0)) }
        let line = SystemdStatus.line(views, stopping: systemd.stopping || shuttingDown)
        guard line != systemd.lastStatus else { return nil }
        systemd.lastStatus = line
        return "STATUS=" + line
    }

    private func systemdPhase(_ instance: Instance) -> SystemdInstanceView.Phase {
        switch instance.state {
        case .idle: .starting
        case .running: .running
        case .draining: .exited
        case .waitingRestart:
            .restarting(after: "\(instance.quarantine.map { ExitReason.quarantined($0) } ?? instance.exitReason ?? .exited(0))")
        case .finished: .finished
        case .failed(let why): .failed(why)
        case .stopped, .held: .stopped
        }
    }
}
