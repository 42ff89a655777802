import LoopKit
import Manifest
import RingChannel

/// One instance of a worker pool, as the loop thread sees it: its channel, its process, what it
/// has delivered, and where it is in its life.
final class Instance {
    /// Where an instance is in its life.
    enum State: Equatable {
        /// Not started yet.
        case idle
        /// Its process runs.
        case running
        /// Its process ended; committed records are still being drained.
        case draining
        /// Waiting for the backoff delay, or for consumers to let go of the old ring.
        case waitingRestart
        /// Done: success under on-failure, or policy never after success.
        case finished
        /// Out of restarts, or failed under never.
        case failed(String)
        /// Stopped by shutdown.
        case stopped
        /// Stopped by the operator (`ringmaster stop`): keeps the run alive; `start` resumes it.
        case held

        /// True when nothing more will happen to this instance unless it is told to.
        var isSettled: Bool {
            switch self {
            case .finished, .failed, .stopped, .idle, .held: true
            case .running, .draining, .waitingRestart: false
            }
        }
    }

    /// A batch handed to consumers and not yet released.
    struct Outstanding {
        /// Ring position to release through once every consumer is done (nil: the ring is
        /// poisoned or replaced; nothing to release).
        var end: UInt64?
        /// Consumers still holding it.
        var remaining: Int
        /// Data records in it (for the consumers' counts).
        var records: UInt64 = 0
    }

    let id: Int
    let worker: WorkerSpec
    let index: Int
    /// Consumers this instance's records go to (indexes into the supervisor's hosts).
    var routes: [Int]
    let label: String
    /// The worker's name as a NUL-terminated C string, shared by every record routed from here
    /// (it outlives every batch: instances live as long as the supervisor).
    let cWorkerName: UnsafeMutableBufferPointer<CChar>
    /// The worker's format as the plugin ABI's code.
    let formatCode: UInt16

    var state: State = .idle
    var generation: UInt64 = 0
    var channel: Channel
    var reader: RingReader
    var dataWatch: DataWatch?
    var process: ChildProcess?
    var startedAt: UInt64 = 0
    var planner: RestartPlanner
    var exitReason: ExitReason?
    /// Set when the ring was found corrupt; the next start gets a fresh ring.
    var quarantine: String?
    var restartTimer: Timer?
    var graceTimer: Timer?
    /// The backoff delay has passed; start as soon as no consumer borrows from the ring.
    var restartDue = false
    /// Stall detection (nil: the worker has no `stall_timeout`).
    var stall: StallWatch?

    /// Data records delivered over the instance's whole life (the next record's sequence number).
    var delivered: UInt64 = 0
    /// The last checkpoint token delivered, and data records delivered after it.
    var checkpoint: [UInt8]?
    var sinceCheckpoint: UInt64 = 0
    var sawEndOfStream = false
    var bytesDelivered: UInt64 = 0
    var restarts = 0

    /// Data records in the last drain: the next drain's array starts at this capacity.
    var lastBatchCount = 0
    var outstanding: [Outstanding] = []
    var firstSerial: UInt64 = 0
    var nextSerial: UInt64 = 0

    // Operations (the control socket): what the operator asked for, and the figures `status` shows.
    /// An operator's stop is under way: the exit that follows holds the instance instead of
    /// applying the restart policy (and starts it again at once when `startAfterStop`).
    var stopRequested = false
    var startAfterStop = false
    /// Removed by a scale-down or a reload: once stopped it is no longer shown or counted.
    var retired = false
    /// Exits by kind (`exit_0`, `exit_nonzero`, `signal`, `quarantined`).
    var exitCounts: [String: Int] = [:]
    /// How the last process ended (kept across restarts, unlike `exitReason`).
    var lastExit: ExitReason?
    var quarantines = 0
    /// The producer announced it waits for space since this time (nil: not waiting), and the
    /// waiting time before it.
    var blockedSince: UInt64?
    var blockedTotal: UInt64 = 0
    /// The records count at an earlier status, for the rate.
    var rateSample: (time: UInt64, records: UInt64) = (0, 0)

    init(id: Int, worker: WorkerSpec, index: Int, routes: [Int], channel: Channel) {
        self.id = id
        self.worker = worker
        self.index = index
        self.routes = routes
        self.label = "\(worker.name).\(index)"
        let name = Array(worker.name.utf8CString)
        cWorkerName = .allocate(capacity: name.count)
        _ = cWorkerName.initialize(from: name)
        formatCode = PluginConsumer.code(worker.format)
        self.channel = channel
        self.reader = channel.makeReader()
        self.planner = RestartPlanner(worker.restart)
    }

    deinit { cWorkerName.deallocate() }
}
