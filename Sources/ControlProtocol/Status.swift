/// A snapshot of a running supervisor, as `ringmaster status --json` prints it.
public struct StatusReport: Codable, Sendable {
    /// The supervisor's pid.
    public var pid: Int32
    /// The manifest it runs (absolute path).
    public var manifest: String
    /// Seconds since the supervisor started.
    public var uptime: Double
    /// True once shutdown has begun.
    public var stopping: Bool
    public var workers: [WorkerStatus]
    public var consumers: [ConsumerStatus]

    public init(pid: Int32, manifest: String, uptime: Double, stopping: Bool, workers: [WorkerStatus], consumers: [ConsumerStatus]) {
        self.pid = pid
        self.manifest = manifest
        self.uptime = uptime
        self.stopping = stopping
        self.workers = workers
        self.consumers = consumers
    }
}

/// One worker (pool) and its instances.
public struct WorkerStatus: Codable, Sendable {
    public var name: String
    /// The pool size asked for (instances being stopped by a scale-down are still listed).
    public var size: Int
    public var instances: [InstanceStatus]

    public init(name: String, size: Int, instances: [InstanceStatus]) {
        self.name = name
        self.size = size
        self.instances = instances
    }
}

/// One instance of a worker.
public struct InstanceStatus: Codable, Sendable {
    /// `worker.index`.
    public var label: String
    /// `idle`, `running`, `stopping`, `draining`, `backoff`, `finished`, `failed`, `stopped`, `held`.
    public var state: String
    /// Why it failed (state `failed`).
    public var reason: String?
    public var pid: Int32?
    /// Seconds since its current process started (running or stopping).
    public var uptime: Double?
    /// Restarts so far (= the generation of the current ring).
    public var restarts: Int
    /// How its last process ended: `exit 0`, `SIGKILL`, `quarantined: …`.
    public var lastExit: String?
    /// Data records delivered over the instance's life.
    public var records: UInt64
    /// Payload bytes delivered.
    public var bytes: UInt64
    /// Records per second over the last interval (at least a second, since the previous status).
    public var rate: Double
    /// Committed bytes not yet released (tail − head), and the ring's capacity.
    public var ringUsed: UInt64
    public var ringCapacity: UInt64
    /// Seconds the producer spent waiting for space (seen through its `producer_waiting` word).
    public var blocked: Double
    /// Exits by kind: `exit_0`, `exit_nonzero`, `signal`, `quarantined`, …
    public var exits: [String: Int]
    /// Times the ring was quarantined.
    public var quarantines: Int

    public init(label: String, state: String, reason: String? = nil, pid: Int32? = nil, uptime: Double? = nil, restarts: Int,
                lastExit: String? = nil, records: UInt64, bytes: UInt64, rate: Double, ringUsed: UInt64, ringCapacity: UInt64,
                blocked: Double, exits: [String: Int], quarantines: Int) {
        self.label = label
        self.state = state
        self.reason = reason
        self.pid = pid
        self.uptime = uptime
        self.restarts = restarts
        self.lastExit = lastExit
        self.records = records
        self.bytes = bytes
        self.rate = rate
        self.ringUsed = ringUsed
        self.ringCapacity = ringCapacity
        self.blocked = blocked
        self.exits = exits
        self.quarantines = quarantines
    }

    /// The ring's fill, 0...1.
    public var ringFill: Double { ringCapacity == 0 ? 0 : Double(ringUsed) / Double(ringCapacity) }
}

/// One consumer.
public struct ConsumerStatus: Codable, Sendable {
    public var name: String
    /// The plugin it runs (`jsonl`, a path, …).
    public var plugin: String
    /// Records handed to the plugin (consumed).
    public var records: UInt64
    /// Batches the plugin failed on.
    public var errors: UInt64
    /// Records routed to it and not yet consumed (its queue): the lag.
    public var lag: UInt64
    /// Batches waiting in its queue.
    public var queued: Int
    /// False once it stopped after an error (`on_error: stop`).
    public var routing: Bool

    public init(name: String, plugin: String, records: UInt64, errors: UInt64, lag: UInt64, queued: Int, routing: Bool) {
        self.name = name
        self.plugin = plugin
        self.records = records
        self.errors = errors
        self.lag = lag
        self.queued = queued
        self.routing = routing
    }
}
