import CShim
import Glibc
import LoopKit
import Logging
import Manifest
import RingChannel

/// Runs a manifest: starts every worker instance on its own channel, drains and routes what they
/// commit, restarts them by policy, and shuts down cleanly.
///
/// All state lives on the loop thread. Consumer threads report back through a mailbox and an
/// async handle; nothing else crosses threads.
public final class Supervisor {
    /// How a run ended, as a process exit status.
    public enum Outcome: Int32, Sendable {
        /// Every worker finished or was stopped.
        case success = 0
        /// A worker used up its restart budget (or failed under `never`).
        case workerFailed = 1
        /// Every worker finished, but a consumer stopped after an error (its `on_error`), so
        /// records routed to it after that were not delivered to it.
        case consumerStopped = 4
        /// The run could not start (a ring, a consumer, the loop).
        case startupFailed = 3
    }

    /// Settings that are not in the manifest.
    public struct Options: Sendable {
        /// Ring bytes drained per instance per turn, so one busy worker cannot starve the others.
        public var drainBudget: UInt64 = 256 << 10
        /// Batches a consumer may have queued before its producers are held back.
        public var consumerQueueCapacity = 64
        /// Seed for restart jitter (nil: the system RNG).
        public var jitterSeed: UInt64?
        /// Where plugins are looked for (nil: beside the binary and `RINGMASTER_PLUGIN_PATH`).
        public var pluginLocator: PluginLocator?
        /// Where to serve the control socket (nil: no control socket).
        public var controlPath: String?
        /// The path was asked for (`--control`): failing to serve it ends the run. Otherwise (the
        /// default path) only a live supervisor on it does.
        public var controlRequired = false

        public init() {}
    }

    /// The manifest in force (a reload replaces it).
    var manifest: Manifest
    let options: Options
    let logger: Logger
    let loop: Loop
    var hosts: [ConsumerHost] = []
    var instances: [Instance] = []
    var lifeline: Lifeline
    /// The conversation with systemd (`NOTIFY_SOCKET`); nil when not run by it.
    var systemd: SystemdSession?
    let mailbox = Mailbox()
    var mailboxAsync: Async!
    var pumpAsync: Async!
    var signals: [SignalWatch] = []
    /// Worker output lines beyond the log: the tails for `ringmaster logs`, the workers' log files.
    lazy var workerOutput = WorkerOutput(workers: manifest.workers, logger: logger)
    var readyForPump: Set<Int> = []
    var heldBack: Set<Int> = []
    /// Storage of finished batches' record arrays, for the next drains.
    let recordArrays = RecordArrayPool()
    var shuttingDown = false
    var closingConsumers = false
    var closedConsumers = 0
    /// A consumer stopped after an error (its route no longer gets records).
    var consumerStopped: Bool { !stoppedRoutes.isEmpty }
    var random: SeededGenerator
    /// Each worker's pool size in force (`scale` and reloads change it; new instances see it).
    var poolSizes: [String: Int] = [:]
    /// The control socket (nil with `controlPath` unset).
    var control: ControlServer?
    /// The HTTP metrics endpoint (nil without the manifest's `metrics` block).
    var metricsServer: MetricsServer?
    /// Per consumer: records handed over, consumed, and batches it failed on (loop thread).
    var consumerCounts: [ConsumerCounts] = []
    /// Consumers that stopped after an error: nothing is routed to them any more.
    var stoppedRoutes: Set<Int> = []
    /// When `run()` began (monotonic ns).
    var startedAt: UInt64 = 0

    /// Prepares a run: the loop, the consumers, a channel per instance. Nothing starts yet.
    public init(manifest: Manifest, options: Options = Options(), logger: Logger) throws(SupervisorError) {
        // Descriptors this process inherited (from a shell, a service manager) are not the
        // workers' business: only what the supervisor hands over explicitly reaches them.
        if cshim_cloexec_from(3) != 0 {
            logger.warning("cannot mark inherited descriptors close-on-exec: \(Errno.current); workers may inherit them")
        }
        self.manifest = manifest
        self.options = options
        self.logger = logger
        systemd = SystemdSession.fromEnvironment(logger: logger)
        let consumerErrors = ConsumerFactory.check(manifest, locator: options.pluginLocator)
        guard consumerErrors.isEmpty else { throw .consumers(consumerErrors) }
        var system = SystemRandomNumberGenerator()
        random = SeededGenerator(seed: options.jitterSeed ?? system.next())
        do { loop = try Loop() } catch { throw .startup("cannot create the event loop: \(error)") }
        do { lifeline = try Lifeline() } catch { throw .startup("cannot create the lifeline pipe: \(error)") }
        let swept = PosixNames.sweepStale()
        if !swept.removed.isEmpty {
            logger.info("removed stale shared-memory names of dead supervisors", metadata: ["names": "\(swept.removed)"])
        }
        try makeConsumers()
        do throws(SupervisorError) {
            try makeInstances()
            if let path = options.controlPath {
                // Before any worker starts: a second supervisor on the same socket must not run.
                do throws(ControlSetupError) {
                    control = try ControlServer(loop: loop, path: path, logger: logger) { [unowned self] request, connection in
                        handleControl(request, from: connection)
                    }
                } catch {
                    // A live owner always stops this run; a default path that cannot be made (a
                    // read-only directory, too long a path) only costs the control socket.
                    if case .owned = error { throw SupervisorError.startup("\(error)") }
                    if options.controlRequired { throw SupervisorError.startup("\(error)") }
                    logger.warning("\(error); running without a control socket (name one with --control)")
                }
            }
            try serveMetrics()
        } catch {
            control?.close()
            hosts.forEach { $0.closeWithoutThread() }
            throw error
        }
    }

    private func makeConsumers() throws(SupervisorError) {
        let mailbox = self.mailbox
        let locator = options.pluginLocator ?? .forCurrentProcess(manifestFile: manifest.file)
        for (index, spec) in manifest.consumers.enumerated() {
            let (consumer, policy): (PluginConsumer, ConsumerErrorPolicy)
            do {
                (consumer, policy) = try ConsumerFactory.make(spec, locator: locator, logger: logger)
            } catch {
                // The ones already created are closed on this thread: no call follows a failed start.
                hosts.forEach { $0.closeWithoutThread() }
                throw error
            }
            hosts.append(ConsumerHost(name: spec.name, index: index, consumer: consumer, errorPolicy: policy,
                                      capacity: options.consumerQueueCapacity, logger: logger) { completion in
                mailbox.post(completion)
            })
        }
    }

    private func makeInstances() throws(SupervisorError) {
        let consumerIndex = Dictionary(uniqueKeysWithValues: manifest.consumers.enumerated().map { ($1.name, $0) })
        consumerCounts = Array(repeating: ConsumerCounts(), count: manifest.consumers.count)
        for worker in manifest.workers {
            poolSizes[worker.name] = worker.instances
            let routes = worker.to.compactMap { consumerIndex[$0] }
            for index in 0..<worker.instances {
                let channel = try makeChannel(worker, index: index, generation: 0)
                instances.append(Instance(id: instances.count, worker: worker, index: index, routes: routes, channel: channel))
            }
        }
    }

    func makeChannel(_ worker: WorkerSpec, index: Int, generation: UInt64) throws(SupervisorError) -> Channel {
        do {
            return try Channel.create(kind: worker.channel.kind, label: "\(worker.name).\(index)",
                                      geometry: worker.channel.geometry, generation: generation)
        } catch {
            throw .startup("\(worker.name).\(index): \(error)")
        }
    }

    /// Runs until every worker has finished or failed, or until SIGINT/SIGTERM ends the run.
    public func run() -> Outcome {
        // A closed stdout (`ringmaster run m.yaml | head`) must fail a consumer's write, not
        // kill the supervisor; libuv gives every child default signal handling back.
        signal(SIGPIPE, SIG_IGN)
        if cshim_set_child_subreaper() != 0 {
            logger.warning("cannot become a child subreaper; escaped descendants will not be reaped")
        }
        do {
            mailboxAsync = try Async(loop: loop) { [unowned self] in handleCompletions() }
            pumpAsync = try Async(loop: loop) { [unowned self] in pumpReady() }
            for signal in [Signal.interrupt, Signal.terminate] {
                signals.append(try SignalWatch(loop: loop, signal: signal) { [unowned self] signal in
                    handleStopSignal(signal)
                })
            }
            signals.append(try SignalWatch(loop: loop, signal: .child) { [unowned self] _ in reapOrphans() })
            // SIGHUP: re-read the manifest, as `ringmaster reload` does.
            signals.append(try SignalWatch(loop: loop, signal: .hangup) { [unowned self] _ in
                guard !shuttingDown else { return }
                logger.info("SIGHUP: reloading \(manifest.file)")
                let response = reload(id: nil)
                if response.ok { logger.info("\(response.message ?? "reloaded")") } else {
                    for line in response.errors ?? [] { logger.error("\(line)") }
                }
            })
            signals.append(try watchLogReopenSignal())
        } catch {
            logger.error("cannot set up the event loop: \(error)")
            return .startupFailed
        }
        startedAt = MonotonicClock.now()
        mailbox.async = mailboxAsync
        hosts.forEach { $0.start() }
        workerOutput.open()
        for instance in instances { start(instance) }
        startSystemd()
        checkRunComplete()
        loop.run()
        hosts.forEach { $0.join() }
        workerOutput.close()
        for instance in instances { instance.dataWatch?.close() }
        // An instance that failed and was started again by the operator no longer counts.
        let anyFailed = instances.contains { instance in
            if case .failed = instance.state { return !instance.retired }
            return false
        }
        return anyFailed ? .workerFailed : consumerStopped ? .consumerStopped : .success
    }

    // MARK: completions from consumer threads

    private func handleCompletions() {
        // Batches finished since the last pass are released together, one release (and at most
        // one wake-up of a waiting producer) per instance rather than one per batch.
        var finished: Set<Int> = []
        for completion in mailbox.take() {
            switch completion {
            case .batch(let ticket, let consumer, let error):
                let instance = instances[ticket.instance]
                if let error {
                    logger.error("consumer \(hosts[consumer].name) failed on a batch from \(instance.label): \(error)")
                    consumerCounts[consumer].errors += 1
                }
                let slot = Int(ticket.serial &- instance.firstSerial)
                instance.outstanding[slot].remaining -= 1
                consumerCounts[consumer].consumed += instance.outstanding[slot].records
                finished.insert(instance.id)
            case .stopped(let consumer, let ticket, let error):
                let instance = instances[ticket.instance]
                logger.error("consumer \(hosts[consumer].name) failed on a batch from \(instance.label): \(error)")
                stopRoute(to: consumer)
                let slot = Int(ticket.serial &- instance.firstSerial)
                instance.outstanding[slot].remaining -= 1
                consumerCounts[consumer].errors += 1
                consumerCounts[consumer].consumed += instance.outstanding[slot].records
                finished.insert(instance.id)
            case .closed(let consumer, let error):
                if let error { logger.error("consumer \(hosts[consumer].name) failed to close: \(error)") }
                closedConsumers += 1
            }
        }
        for id in finished.sorted() { advance(instances[id]) }
        if closingConsumers && closedConsumers == hosts.count {
            finishLoop()
            return
        }
        // Room may have opened in a queue: try the instances that were held back.
        for id in heldBack { readyForPump.insert(id) }
        heldBack.removeAll()
        if !readyForPump.isEmpty { pumpAsync.send() }
    }

    /// Routes nothing more to a consumer that stopped after an error; the run will exit 4.
    private func stopRoute(to consumer: Int) {
        stoppedRoutes.insert(consumer)
        logger.error("consumer \(hosts[consumer].name) stopped after an error: records are no longer routed to it")
        for instance in instances { instance.routes.removeAll { $0 == consumer } }
    }

    /// Releases ring space of the batches at the front that every consumer is done with, and
    /// starts a due restart once nothing borrows from the ring.
    func advance(_ instance: Instance) {
        var releaseThrough: UInt64? = nil
        while let first = instance.outstanding.first, first.remaining == 0 {
            if let end = first.end { releaseThrough = end }
            instance.outstanding.removeFirst()
            instance.firstSerial &+= 1
        }
        // Ends grow in ring order: one release covers every finished batch at the front.
        if releaseThrough != nil { observeWaiting(instance) }
        if let end = releaseThrough, instance.reader.violation == nil {
            instance.stall?.restartClock()   // a blocked spell may end here: it does not count
            if !instance.reader.release(through: end) {
                // Only a producer that cleared O_NONBLOCK on the shared eventfd and filled its
                // counter makes the (bounded) wake-up write fail.
                quarantine(instance, reason: "space-free eventfd could not be written: the worker cleared O_NONBLOCK and filled the counter")
            }
        }
        if instance.outstanding.isEmpty {
            if instance.restartDue { restartNow(instance) }
            if instance.state == .draining { markReady(instance) }
            checkRunComplete()
        }
    }

    /// Ends the run once every instance is settled and no batch is outstanding: consumers flush
    /// and close, then the loop stops.
    func checkRunComplete() {
        guard !closingConsumers else { return }
        guard instances.allSatisfy({ $0.state.isSettled && $0.outstanding.isEmpty }) else { return }
        // Instances not started yet, or held by the operator, keep the run alive until shutdown.
        if instances.contains(where: { $0.state == .idle || $0.state == .held }) && !shuttingDown { return }
        closingConsumers = true
        systemdStopping()
        killOrphans()
        if hosts.isEmpty { finishLoop(); return }
        hosts.forEach { $0.close() }
    }

    private func finishLoop() {
        control?.close()
        control = nil
        metricsServer?.close()
        metricsServer = nil
        mailboxAsync?.close()
        pumpAsync?.close()
        signals.forEach { $0.close() }
        for instance in instances {
            instance.dataWatch?.close()
            instance.dataWatch = nil
            instance.restartTimer?.close()
            instance.graceTimer?.close()
            instance.stall?.close()
        }
        lifeline.close()
        systemd?.close()
        loop.stop()
    }
}

/// Why a supervisor could not be set up.
public enum SupervisorError: Error, CustomStringConvertible {
    /// Consumer settings are wrong (with their manifest positions).
    case consumers([ManifestError])
    /// Something the run needs could not be created.
    case startup(String)

    public var description: String {
        switch self {
        case .consumers(let errors): errors.map(\.description).joined(separator: "\n")
        case .startup(let message): message
        }
    }
}

/// Completions posted by consumer threads, taken by the loop thread.
final class Mailbox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var items: [ConsumerHost.Completion] = []
    var async: Async?

    func post(_ completion: ConsumerHost.Completion) {
        lock.withLock { items.append(completion) }
        async?.send()
    }

    func take() -> [ConsumerHost.Completion] {
        lock.withLock {
            defer { items.removeAll(keepingCapacity: true) }
            return items
        }
    }
}
