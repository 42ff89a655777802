import ControlProtocol
import Glibc
import Manifest
import RingChannel

/// Per consumer: records handed over and consumed, and batches it failed on (loop thread).
struct ConsumerCounts {
    var submitted: UInt64 = 0
    var consumed: UInt64 = 0
    var errors: UInt64 = 0
}

extension Supervisor {
    // MARK: status

    /// A snapshot of every worker, instance and consumer. `advancingRate`: this snapshot starts
    /// the next rate interval (a `status`); metrics scrapes leave the interval alone, so a
    /// scraper does not shorten what `status` measures.
    func statusReport(advancingRate: Bool = true) -> StatusReport {
        let now = MonotonicClock.now()
        var workers: [WorkerStatus] = []
        for spec in manifest.workers + retiredWorkerSpecs() {
            let pool = instances.filter { $0.worker.name == spec.name && !($0.retired && $0.state.isSettled) }
            guard !pool.isEmpty || manifest.workers.contains(where: { $0.name == spec.name }) else { continue }
            workers.append(WorkerStatus(name: spec.name, size: poolSizes[spec.name] ?? spec.instances,
                                        instances: pool.map { instanceStatus($0, now: now, advancingRate: advancingRate) }))
        }
        let consumers = manifest.consumers.enumerated().map { index, spec in
            let counts = consumerCounts[index]
            let routing = !stoppedRoutes.contains(index)
            return ConsumerStatus(name: spec.name, plugin: spec.plugin, records: counts.consumed, errors: counts.errors,
                                  lag: counts.submitted &- counts.consumed, queued: hosts[index].queuedBatchCount, routing: routing)
        }
        return StatusReport(pid: getpid(), manifest: ControlPath.absolute(manifest.file), uptime: Double(now &- startedAt) / 1e9, stopping: shuttingDown,
                            workers: workers, consumers: consumers)
    }

    /// Workers removed by a reload whose instances are still stopping.
    private func retiredWorkerSpecs() -> [WorkerSpec] {
        var seen = Set(manifest.workers.map(\.name))
        var specs: [WorkerSpec] = []
        for instance in instances where instance.retired && !instance.state.isSettled && seen.insert(instance.worker.name).inserted {
            specs.append(instance.worker)
        }
        return specs
    }

    private func instanceStatus(_ instance: Instance, now: UInt64, advancingRate: Bool) -> InstanceStatus {
        observeWaiting(instance, now: now)
        let state: String
        var reason: String? = nil
        switch instance.state {
        case .idle: state = "idle"
        case .running: state = instance.graceTimer != nil ? "stopping" : "running"
        case .draining: state = "draining"
        case .waitingRestart: state = "backoff"
        case .finished: state = "finished"
        case .failed(let why): state = "failed"; reason = why
        case .stopped: state = "stopped"
        case .held: state = "held"
        }
        // The rate over at least a second: the sample moves on only once it is that old.
        let sample = instance.rateSample
        let elapsed = Double(now &- sample.time) / 1e9
        let rate = elapsed > 0 ? Double(instance.delivered &- sample.records) / elapsed : 0
        if advancingRate && now &- sample.time >= 1_000_000_000 { instance.rateSample = (now, instance.delivered) }
        // Committed and not released: what the reader has parsed and holds, plus what the shared
        // tail says is still to parse (clamped: the producer may lie).
        let capacity = instance.channel.segment.geometry.capacity
        let used = min(capacity, (instance.reader.position &- instance.reader.head) &+ instance.reader.pendingBytes)
        let blocked = instance.blockedTotal &+ (instance.blockedSince.map { now &- $0 } ?? 0)
        let running = instance.process != nil
        return InstanceStatus(label: instance.label, state: state, reason: reason, pid: instance.process?.pid,
                              uptime: running ? Double(now &- instance.startedAt) / 1e9 : nil, restarts: instance.restarts,
                              lastExit: instance.lastExit.map { "\($0)" }, records: instance.delivered, bytes: instance.bytesDelivered,
                              rate: rate, ringUsed: instance.state == .running || instance.state == .draining ? used : 0,
                              ringCapacity: capacity, blocked: Double(blocked) / 1e9, exits: instance.exitCounts,
                              quarantines: instance.quarantines)
    }

    /// Follows the producer's `producer_waiting` word: time it announces waiting for space counts
    /// as blocked. Called whenever the loop looks at the instance (drains, releases, status).
    func observeWaiting(_ instance: Instance, now: UInt64? = nil) {
        // Called at every release: the clock is read only when the state changes.
        let waiting = instance.process != nil && instance.channel.segment.producerWaiting
        if waiting {
            if instance.blockedSince == nil { instance.blockedSince = now ?? MonotonicClock.now() }
        } else if let since = instance.blockedSince {
            instance.blockedTotal &+= (now ?? MonotonicClock.now()) &- since
            instance.blockedSince = nil
        }
    }

    // MARK: scale

    /// Grows a pool (new instances on new rings start at once) or shrinks it (the highest
    /// instances stop gracefully and are removed). Running instances are not restarted, so they
    /// keep the pool size they were started with in RINGMASTER_INSTANCES until their next start.
    func scale(_ name: String, to count: Int, id: Int?) -> ControlResponse {
        guard let spec = manifest.workers.first(where: { $0.name == name }) else {
            let hint = Suggestion.closest(to: name, among: manifest.workers.map(\.name)).map { "; did you mean \"\($0)\"?" } ?? ""
            return .failure(id, "no worker \"\(name)\"\(hint)")
        }
        guard (1...1024).contains(count) else { return .failure(id, "a pool size must be 1...1024 (got \(count))") }
        let pool = instances.filter { $0.worker.name == name && !$0.retired }
        poolSizes[name] = count
        var affected: [String] = []
        if count > pool.count {
            do {
                affected = try addInstances(of: spec, indices: pool.count..<count)
            } catch {
                return .failure(id, "\(error)")
            }
            logger.info("scaled \(name) from \(pool.count) to \(count) instances")
            var response = ControlResponse(id: id, ok: true, message: "starting \(affected.joined(separator: ", "))")
            response.affected = affected
            return response
        }
        for instance in pool where instance.index >= count {
            retire(instance)
            affected.append(instance.label)
        }
        if !affected.isEmpty { logger.info("scaled \(name) from \(pool.count) to \(count) instances") }
        var response = ControlResponse(id: id, ok: true, message: affected.isEmpty
            ? "\(name) already has \(count) instance\(count == 1 ? "" : "s")" : "stopping \(affected.joined(separator: ", "))")
        response.affected = affected
        return response
    }

    /// New instances of `spec` at `indices`, each on a new ring, started at once.
    private func addInstances(of spec: WorkerSpec, indices: Range<Int>) throws(SupervisorError) -> [String] {
        let consumerIndex = Dictionary(uniqueKeysWithValues: manifest.consumers.enumerated().map { ($1.name, $0) })
        // A consumer that stopped after an error gets nothing new.
        let routes = spec.to.compactMap { consumerIndex[$0] }.filter { !stoppedRoutes.contains($0) }
        var labels: [String] = []
        var created: [Instance] = []
        for index in indices {
            let channel = try makeChannel(spec, index: index, generation: 0)
            let instance = Instance(id: instances.count + created.count, worker: spec, index: index, routes: routes, channel: channel)
            created.append(instance)
            labels.append(instance.label)
        }
        instances += created
        for instance in created { start(instance) }
        return labels
    }

    /// Stops an instance for good (scale-down, reload): gracefully, then it is no longer shown.
    private func retire(_ instance: Instance) {
        instance.retired = true
        if !stopByOperator(instance, thenStart: false) {
            instance.state = .stopped
        }
    }

    // MARK: reload

    /// Re-reads the manifest. Invalid: nothing changes and the errors are returned. Valid: new
    /// workers start, removed ones stop, changed ones restart on their new definition (fresh
    /// rings, no resume: their output may differ), pools whose size alone changed are scaled,
    /// and the rest is left alone (same pids).
    func reload(id: Int?) -> ControlResponse {
        let fresh: Manifest
        do {
            fresh = try Manifest.load(path: manifest.file, resolver: .forCurrentProcess())
        } catch {
            var response = ControlResponse.failure(id, "\(manifest.file) is not valid; nothing was changed")
            response.errors = error.errors.map { "\($0)" }
            logger.error("reload refused: \(manifest.file) has \(error.errors.count) error(s); still running the previous manifest")
            return response
        }
        let consumerChanges = ManifestDiff.consumerChanges(from: manifest.consumers, to: fresh.consumers)
        guard consumerChanges.isEmpty else {
            return .failure(id, "reload cannot change consumers (\(consumerChanges.joined(separator: ", "))); restart the supervisor for that; nothing was changed")
        }
        let diff = ManifestDiff(from: manifest.workers, to: fresh.workers)
        noteMetricsChange(fresh)
        manifest = fresh
        workerOutput.apply(fresh.workers)
        for name in diff.removed + diff.changed {
            for instance in instances where instance.worker.name == name && !instance.retired { retire(instance) }
            poolSizes[name] = nil
        }
        var summary = ReloadSummary()
        summary.added = diff.added
        summary.removed = diff.removed
        summary.changed = diff.changed
        summary.scaled = diff.scaled
        summary.unchanged = diff.unchanged
        for spec in fresh.workers where diff.added.contains(spec.name) || diff.changed.contains(spec.name) {
            poolSizes[spec.name] = spec.instances
            do {
                _ = try addInstances(of: spec, indices: 0..<spec.instances)
            } catch {
                logger.error("reload: cannot start \(spec.name): \(error)")
            }
        }
        for spec in fresh.workers where diff.scaled.contains(spec.name) {
            _ = scale(spec.name, to: spec.instances, id: id)
        }
        logger.info("reloaded \(fresh.file)", metadata: ["added": "\(diff.added)", "removed": "\(diff.removed)",
                                                         "changed": "\(diff.changed)", "scaled": "\(diff.scaled)"])
        var response = ControlResponse(id: id, ok: true, message: Self.describe(summary))
        response.reload = summary
        checkRunComplete()
        return response
    }

    static func describe(_ summary: ReloadSummary) -> String {
        var parts: [String] = []
        if !summary.added.isEmpty { parts.append("added \(summary.added.joined(separator: ", "))") }
        if !summary.removed.isEmpty { parts.append("removed \(summary.removed.joined(separator: ", "))") }
        if !summary.changed.isEmpty { parts.append("restarted \(summary.changed.joined(separator: ", "))") }
        if !summary.scaled.isEmpty { parts.append("scaled \(summary.scaled.joined(separator: ", "))") }
        parts.append("\(summary.unchanged.count) unchanged")
        return "reloaded: " + parts.joined(separator: "; ")
    }
}
