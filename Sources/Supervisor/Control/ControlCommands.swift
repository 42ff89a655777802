import ControlProtocol
import LoopKit
import RingChannel
import SystemKit
import Logging
import Manifest

extension Supervisor {
    /// Answers one control request on the loop thread (nil: answered by other means, e.g. a
    /// `logs --follow` that streams).
    func handleControl(_ request: ControlRequest, from connection: LineConnection) -> ControlResponse? {
        let id = request.id
        switch request.cmd {
        case "ping":
            return ControlResponse(id: id, ok: true, message: "pong")
        case "status":
            var response = ControlResponse(id: id, ok: true)
            response.status = statusReport()
            return response
        case "start", "stop", "restart":
            guard !shuttingDown else { return .failure(id, "the supervisor is shutting down") }
            let targets: [Instance]
            switch resolve(request.target) {
            case .failure(let message): return .failure(id, message)
            case .success(let found): targets = found
            }
            var affected: [String] = []
            for instance in targets {
                let acted = switch request.cmd {
                case "start": startByOperator(instance)
                case "stop": stopByOperator(instance, thenStart: false)
                default: stopByOperator(instance, thenStart: true)
                }
                if acted { affected.append(instance.label) }
            }
            let verb = ["start": "starting", "stop": "stopping", "restart": "restarting"][request.cmd]!
            var response = ControlResponse(id: id, ok: true, message: affected.isEmpty
                ? "nothing to do: \(request.target!) is already \(request.cmd == "stop" ? "stopped" : "running")"
                : "\(verb) \(affected.joined(separator: ", "))")
            response.affected = affected
            return response
        case "scale":
            guard !shuttingDown else { return .failure(id, "the supervisor is shutting down") }
            guard let name = request.target, let count = request.count else { return .failure(id, "scale needs a worker (target) and a pool size (count)") }
            return scale(name, to: count, id: id)
        case "shutdown":
            let already = shuttingDown
            if !already { logger.info("shutdown requested on the control socket") }
            beginShutdown()
            return ControlResponse(id: id, ok: true, message: already ? "already shutting down" : "shutting down")
        case "reload":
            guard !shuttingDown else { return .failure(id, "the supervisor is shutting down") }
            return reload(id: id)
        case "logs":
            return logs(request, from: connection)
        case "metrics":
            return metricsResponse(id: id)
        default:
            return .failure(id, "unknown command \"\(request.cmd)\" (known: status, start, stop, restart, scale, shutdown, reload, logs, metrics, ping)")
        }
    }

    /// The latest captured lines of a worker (or one instance), oldest first, merged across
    /// instances by time; with `follow`, every new line is streamed on the connection as an
    /// `event: "log"` response until the client closes it.
    private func logs(_ request: ControlRequest, from connection: LineConnection) -> ControlResponse {
        let targets: [Instance]
        switch resolve(request.target) {
        case .failure(let message): return .failure(request.id, message)
        case .success(let found): targets = found
        }
        let count = max(0, request.lines ?? 100)
        var lines: [WorkerLogLine] = []
        for instance in targets {
            lines += logBook.logTail(worker: instance.worker.name, instance: instance.index).suffix(count)
        }
        lines.sort { ($0.timestamp, $0.instance, $0.number) < ($1.timestamp, $1.instance, $1.number) }
        var response = ControlResponse(id: request.id, ok: true)
        response.log = lines.suffix(count).map(Self.logLine)
        if request.follow == true, let control {
            let single = targets.count == 1 && request.target?.contains(".") == true ? targets[0].index : nil
            let id = request.id
            let subscription = logBook.subscribe(worker: targets[0].worker.name, instance: single) { [weak connection] line in
                guard let connection, connection.isOpen else { return }
                var event = ControlResponse(id: id, ok: true)
                event.event = "log"
                event.log = [Self.logLine(line)]
                connection.send(ControlProtocol.line(event))
            }
            control.onClose(of: connection) { [weak self] in self?.logBook.unsubscribe(subscription) }
        }
        return response
    }

    static func logLine(_ line: WorkerLogLine) -> LogLine {
        LogLine(instance: "\(line.worker).\(line.instance)", number: line.number,
                time: Double(line.timestamp.seconds) + Double(line.timestamp.nanoseconds) / 1e9,
                stream: line.stream.rawValue, text: line.text)
    }

    /// The instances `WORKER` or `WORKER.INDEX` names (retired ones excluded), or why none.
    func resolve(_ target: String?) -> Result<[Instance], TargetError> {
        guard let target, !target.isEmpty else { return .failure(TargetError("a worker name (WORKER or WORKER.INSTANCE) is needed")) }
        var name = target
        var index: Int? = nil
        if let dot = target.lastIndex(of: "."), let number = Int(target[target.index(after: dot)...]) {
            name = String(target[..<dot])
            index = number
        }
        let pool = instances.filter { $0.worker.name == name && !$0.retired }
        guard !pool.isEmpty else {
            let names = manifest.workers.map(\.name)
            let hint = Suggestion.closest(to: name, among: names).map { "; did you mean \"\($0)\"?" } ?? " (workers: \(names.joined(separator: ", ")))"
            return .failure(TargetError("no worker \"\(name)\"\(hint)"))
        }
        guard let index else { return .success(pool) }
        guard let instance = pool.first(where: { $0.index == index }) else {
            return .failure(TargetError("\(name) has no instance \(index) (instances 0...\(pool.count - 1))"))
        }
        return .success([instance])
    }

    // MARK: start and stop

    /// Starts an instance that is not running (held, finished, failed): its restart budget starts
    /// over. Returns false if it is running (or about to).
    func startByOperator(_ instance: Instance) -> Bool {
        switch instance.state {
        case .held, .finished, .failed, .stopped:
            guard !instance.restartDue else { return false }
            instance.planner = RestartPlanner(instance.worker.restart)
            logger.info("starting \(instance.label) by request")
            startWhenRingIsFree(instance)
            return true
        case .waitingRestart:
            // Skip the rest of the backoff.
            instance.restartTimer?.close()
            instance.restartTimer = nil
            instance.restartDue = true
            if instance.outstanding.isEmpty { restartNow(instance) }
            return true
        case .idle, .running, .draining:
            if instance.stopRequested {
                instance.startAfterStop = true
                return true
            }
            return false
        }
    }

    /// Stops an instance gracefully (its stop signal, then SIGKILL after the grace period) and
    /// holds it instead of applying its restart policy; with `thenStart` it starts again at once
    /// after (a restart). Returns false when there is nothing to stop and nothing to start.
    func stopByOperator(_ instance: Instance, thenStart: Bool) -> Bool {
        switch instance.state {
        case .running:
            instance.stopRequested = true
            instance.startAfterStop = thenStart
            logger.info("\(thenStart ? "restarting" : "stopping") \(instance.label) by request")
            signalStop(instance)
            return true
        case .draining:
            instance.stopRequested = true
            instance.startAfterStop = thenStart
            return true
        case .waitingRestart:
            instance.restartTimer?.close()
            instance.restartTimer = nil
            instance.restartDue = false
            if thenStart {
                instance.restartDue = true
                if instance.outstanding.isEmpty { restartNow(instance) }
            } else {
                instance.state = instance.retired ? .stopped : .held
                logger.info("\(instance.label) held by request (its restart was pending)")
                checkRunComplete()
            }
            return true
        case .idle, .held, .finished, .failed, .stopped:
            if instance.retired { instance.state = .stopped; checkRunComplete(); return false }
            if instance.restartDue && !thenStart {
                // A start was waiting for consumers to let go of the ring: cancel it.
                instance.restartDue = false
                return true
            }
            return thenStart ? startByOperator(instance) : false
        }
    }

    /// The operator's stop completed (every committed record drained): hold the instance, or
    /// start it again for a restart; a retired instance just stops.
    func finishOperatorStop(_ instance: Instance) {
        instance.stopRequested = false
        if instance.retired {
            instance.state = .stopped
            instance.dataWatch?.close()
            instance.dataWatch = nil
            // Its descriptor and its POSIX names go now; the mapping itself is released only
            // when the supervisor exits (the instance's reader keeps it).
            instance.channel.segment.close()
            for signal in [instance.channel.notifiers.dataReady, instance.channel.notifiers.spaceFree] {
                (signal as? NamedSemaphore)?.unlinkName()
            }
            logger.info("\(instance.label) stopped and removed")
        } else if instance.startAfterStop {
            instance.startAfterStop = false
            instance.state = .held
            startWhenRingIsFree(instance)
        } else {
            instance.state = .held
            logger.info("\(instance.label) stopped by request; `ringmaster start \(instance.label)` starts it again")
        }
        checkRunComplete()
    }

    /// Starts a held (or finished, failed) instance as soon as no consumer still reads batches of
    /// its ring: the start resets the ring, and the new process writes from position 0.
    func startWhenRingIsFree(_ instance: Instance) {
        instance.restartDue = true
        if instance.outstanding.isEmpty { restartNow(instance) }
    }

    /// Counts an exit by kind for `status` and metrics.
    func countExit(_ instance: Instance, _ reason: ExitReason) {
        let kind = switch reason {
        case .exited(0): "exit_0"
        case .exited: "exit_nonzero"
        case .signaled: "signal"
        case .quarantined: "quarantined"
        case .stalled: "stalled"
        }
        instance.exitCounts[kind, default: 0] += 1
        instance.lastExit = reason
    }
}

/// Why a control request's target names no instance.
struct TargetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ControlResponse {
    /// A refusal for a target that names nothing.
    static func failure(_ id: Int?, _ error: TargetError) -> ControlResponse { .failure(id, error.description) }
}
