import Glibc
import LoopKit
import Logging
import Manifest
import RingChannel

extension Supervisor {
    /// Starts (or restarts) an instance's process on its channel.
    func start(_ instance: Instance) {
        defer { systemdInstanceChanged() }
        guard !shuttingDown else {
            instance.state = .stopped
            checkRunComplete()
            return
        }
        if instance.state != .idle {
            // A restart: a fresh ring after a quarantine, otherwise the same ring reset.
            instance.generation += 1
            instance.restarts += 1
            do {
                try prepareChannel(instance)
            } catch {
                logger.error("\(instance.label): cannot prepare its ring: \(error)")
                instance.state = .failed("\(error)")
                checkRunComplete()
                return
            }
        }
        if instance.dataWatch == nil {
            do {
                instance.dataWatch = try DataWatch(loop: loop, channel: instance.channel) { [unowned self, unowned instance] in
                    logger.trace("\(instance.label): data-ready")
                    instance.reader.markAwake()
                    markReady(instance)
                }
            } catch {
                logger.error("\(instance.label): cannot watch its ring: \(error)")
                instance.state = .failed("\(error)")
                checkRunComplete()
                return
            }
        }
        let options = spawnOptions(for: instance)
        instance.startedAt = MonotonicClock.now()
        do {
            let label = instance.label
            let logger = self.logger
            let record = workerOutput.recorder(for: instance)
            instance.process = try ChildProcess.spawn(loop: loop, options: options, onOutput: { stream, line in
                logger.info("[\(label)] \(line)", metadata: ["stream": "\(stream)"])
                record(stream, line)
            }, onExit: { [unowned self, unowned instance] exit in
                processExited(instance, exit)
            })
        } catch {
            logger.error("\(instance.label): \(error)")
            instance.exitReason = .exited(127)
            instance.state = .draining
            settle(instance)
            return
        }
        instance.state = .running
        instance.exitReason = nil
        instance.sawEndOfStream = false
        watchForStall(instance)
        let pid = instance.process!.pid
        logger.info("started \(instance.label)", metadata: ["pid": "\(pid)", "generation": "\(instance.generation)"])
        for route in instance.routes {
            hosts[route].submit(event: .started(worker: instance.worker.name, instance: instance.index,
                                                generation: instance.generation, pid: pid))
        }
        markReady(instance)
    }

    /// A clean ring for the next child: a new one after a quarantine, else the old one reset.
    private func prepareChannel(_ instance: Instance) throws(SupervisorError) {
        if instance.quarantine != nil {
            instance.dataWatch?.close()
            instance.dataWatch = nil
            instance.channel = try makeChannel(instance.worker, index: instance.index, generation: instance.generation)
            instance.quarantine = nil
        } else {
            instance.channel.segment.reset(generation: instance.generation)
            if let eventfd = instance.channel.notifiers.spaceFree as? EventFD { _ = try? eventfd.consume() }
        }
        instance.reader = instance.channel.makeReader()
    }

    /// The child's environment: the supervisor's own, the worker's `env`, then the contract.
    private func spawnOptions(for instance: Instance) -> SpawnOptions {
        let contract = instance.channel.childContract(firstTarget: 3)
        var environment = ProcessEnvironment.current()
        for (key, value) in instance.worker.env { environment[key] = value }
        for (key, value) in contract.environment { environment[key] = value }
        let lifelineTarget = CInt(3 + contract.inherited.count)
        environment["RINGMASTER_LIFELINE"] = "fd:\(lifelineTarget)"
        environment["RINGMASTER_WORKER"] = instance.worker.name
        environment["RINGMASTER_INSTANCE"] = String(instance.index)
        environment["RINGMASTER_INSTANCES"] = String(poolSizes[instance.worker.name] ?? instance.worker.instances)
        environment["RINGMASTER_GENERATION"] = String(instance.generation)
        environment["RINGMASTER_RESUME"] = nil
        environment["RINGMASTER_RESUME_SKIP"] = nil
        if instance.generation > 0 {
            if let token = instance.checkpoint { environment["RINGMASTER_RESUME"] = Base64.encode(token) }
            environment["RINGMASTER_RESUME_SKIP"] = String(instance.sinceCheckpoint)
        }
        var inherited = contract.inherited.map { (source: $0.source, target: $0.target) }
        inherited.append((source: lifeline.readEnd, target: lifelineTarget))
        return SpawnOptions(executable: instance.worker.executable, arguments: instance.worker.args,
                            argv0: instance.worker.command, environment: environment,
                            workingDirectory: instance.worker.cwd, inherited: inherited, newProcessGroup: true)
    }

    /// The process ended (its output is fully read by now): drain what it committed, then decide.
    func processExited(_ instance: Instance, _ exit: ProcessExit) {
        // Whatever the worker left behind in its group dies with it: a descendant still holding
        // the ring could otherwise scribble on it after the reset for the next child.
        instance.process?.killGroup(.kill)
        instance.process = nil
        instance.graceTimer?.close()
        instance.graceTimer = nil
        let reason: ExitReason
        switch exit {
        case .exited(let code): reason = .exited(code)
        case .signaled(let signal): reason = .signaled(signal.rawValue)
        }
        let stalled = instance.stall?.end()
        instance.exitReason = instance.quarantine.map { .quarantined($0) } ?? stalled ?? reason
        logger.info("\(instance.label) exited", metadata: ["how": "\(instance.exitReason!)", "generation": "\(instance.generation)"])
        instance.state = .draining
        markReady(instance)
    }

    /// Every committed record of the dead process is drained: apply the restart policy.
    func settle(_ instance: Instance) {
        guard instance.state == .draining else { return }
        defer { systemdInstanceChanged() }
        let reason = instance.quarantine.map { .quarantined($0) } ?? instance.exitReason ?? .exited(0)
        // After the final drain, so consumers see the exit after the dead process's last records.
        for route in instance.routes {
            hosts[route].submit(event: .exited(worker: instance.worker.name, instance: instance.index,
                                               generation: instance.generation, reason: reason))
        }
        countExit(instance, reason)
        if shuttingDown {
            instance.state = .stopped
            checkRunComplete()
            return
        }
        if instance.stopRequested {
            finishOperatorStop(instance)
            return
        }
        let decision = instance.planner.decide(exit: reason, startedAt: instance.startedAt, now: MonotonicClock.now(), using: &random)
        switch decision {
        case .finished:
            instance.state = .finished
            logger.info("\(instance.label) finished", metadata: ["how": "\(reason)", "end-of-stream": "\(instance.sawEndOfStream)"])
        case .failed(let why):
            instance.state = .failed(why)
            logger.error("\(instance.label) failed: \(why)")
        case .restart(let delay, let attempt):
            instance.state = .waitingRestart
            logger.info("restarting \(instance.label) in \(describeDelay(delay))", metadata: ["attempt": "\(attempt)", "after": "\(reason)"])
            let timer = Timer(loop: loop)
            instance.restartTimer = timer
            timer.start(after: delay) { [unowned self, unowned instance] in
                instance.restartTimer?.close()
                instance.restartTimer = nil
                instance.restartDue = true
                if instance.outstanding.isEmpty { restartNow(instance) }
            }
        }
        checkRunComplete()
    }

    /// Starts a due restart (the backoff passed and no consumer borrows from the ring).
    func restartNow(_ instance: Instance) {
        guard instance.restartDue else { return }
        instance.restartDue = false
        start(instance)
    }

    /// The ring broke a rule: kill the worker's group and log what failed. It restarts by policy
    /// on a fresh ring; no other worker is touched.
    func quarantine(_ instance: Instance, _ violation: RingViolation) {
        if instance.channel.segment.truncated {
            // The header reads zeros because the guard replaced a truncated segment's pages.
            quarantine(instance, reason: "the worker truncated its posix segment (reading it faulted; SIGBUS caught)",
                       metadata: ["field": "segment size", "kind": "truncated"])
            return
        }
        quarantine(instance, reason: "\(violation)", metadata: ["field": "\(violation.field)", "kind": "\(violation.kind.rawValue)"])
    }

    /// Quarantine for misbehaviour outside the ring's bytes (e.g. tampering with a notifier).
    func quarantine(_ instance: Instance, reason: String, metadata: Logger.Metadata = [:]) {
        guard instance.quarantine == nil else { return }
        instance.quarantine = reason
        instance.quarantines += 1
        logger.error("quarantining \(instance.label): \(reason)", metadata: metadata)
        if let process = instance.process {
            process.killGroup(.kill)
            process.kill(.kill)
        } else if instance.state == .draining {
            settle(instance)
        }
    }
}
