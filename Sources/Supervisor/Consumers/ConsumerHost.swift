import Logging
import SystemKit

/// Identifies one delivered batch: which instance's ring it borrows from and its serial number.
public struct BatchTicket: Hashable, Sendable {
    /// The supervisor's index of the instance.
    public let instance: Int
    /// The instance's batch counter.
    public let serial: UInt64
}

/// A batch of records shared by every consumer it is routed to. The payloads borrow ring space
/// that is released only after every one of them has finished with it.
public final class DeliveryBatch: @unchecked Sendable {
    public let ticket: BatchTicket
    public let batch: RecordBatch

    /// Where the records array goes when the last holder lets go (nil: freed).
    private let pool: RecordArrayPool?

    public init(ticket: BatchTicket, batch: RecordBatch) {
        self.ticket = ticket
        self.batch = batch
        pool = nil
    }

    init(ticket: BatchTicket, batch: RecordBatch, recycleInto pool: RecordArrayPool) {
        self.ticket = ticket
        self.batch = batch
        self.pool = pool
    }

    deinit { pool?.recycle(batch.records) }
}

/// Runs one consumer plugin instance on a thread of its own behind a bounded queue.
///
/// The loop thread submits work and never waits: when the queue is full, `submit` says so and the
/// loop stops draining the rings routed here, which backs pressure up to their producers.
/// Completions are reported through `onComplete`, called on the consumer's thread.
///
/// Wake-ups are sent after the mutex is released: a consumer thread woken while the loop still
/// holds it (on the loop's CPU, it runs at once) would only block on the mutex and switch back.
/// The waiter re-checks the queue under the mutex, so no wake-up is lost.
///
/// A batch the plugin fails on is retried on this thread (the ring stays held, so its producers
/// feel backpressure) or, by the error policy, the consumer stops: it reports `.stopped` once,
/// then completes every later batch without calling the plugin, and the loop stops routing to it.
final class ConsumerHost: @unchecked Sendable {
    enum Work {
        case batch(DeliveryBatch)
        case event(WorkerEvent)
        case close
    }

    /// What the consumer thread reports back.
    enum Completion: Sendable {
        case batch(BatchTicket, consumer: Int, error: String?)
        /// The consumer gave up on a batch (error policy): route nothing more to it.
        case stopped(consumer: Int, ticket: BatchTicket, error: String)
        case closed(consumer: Int, error: String?)
    }

    let name: String
    let index: Int
    let capacity: Int
    private let consumer: PluginConsumer
    private let errorPolicy: ConsumerErrorPolicy
    /// Set on the consumer thread when the error policy stopped the consumer.
    private var stopped = false
    private let onComplete: @Sendable (Completion) -> Void
    private let logger: Logger
    private let lock = ConditionLock()
    /// Entries from `head` on are waiting; taken ones are nil, so a finished batch (its records
    /// array, its hold on the instance's accounting) is let go as soon as it is consumed.
    private var queue: [Work?] = []
    private var head = 0
    /// Batches queued and not yet taken by the consumer thread (the bounded part of the queue).
    private var queuedBatches = 0
    private var thread: WorkerThread?

    init(name: String, index: Int, consumer: PluginConsumer, errorPolicy: ConsumerErrorPolicy,
         capacity: Int = 64, logger: Logger, onComplete: @escaping @Sendable (Completion) -> Void) {
        self.name = name
        self.index = index
        self.consumer = consumer
        self.errorPolicy = errorPolicy
        self.capacity = capacity
        self.logger = logger
        self.onComplete = onComplete
    }

    /// Starts the thread.
    func start() {
        thread = WorkerThread(name: "rm-\(name)") { [self] in run() }
    }

    /// Batches waiting for the consumer thread.
    var queuedBatchCount: Int { lock.withLock { queuedBatches } }

    /// Whether a batch submitted now would be accepted.
    var hasRoom: Bool { lock.withLock { queuedBatches < capacity } }

    /// Queues a batch; false when the queue is full (the caller holds the ring back and retries).
    func submit(_ batch: DeliveryBatch) -> Bool {
        let accepted = lock.withLock {
            guard queuedBatches < capacity else { return false }
            queuedBatches += 1
            queue.append(.batch(batch))
            return true
        }
        if accepted { lock.broadcast() }
        return accepted
    }

    /// Queues an event (always accepted: events are few and small).
    func submit(event: WorkerEvent) {
        lock.withLock { queue.append(.event(event)) }
        lock.broadcast()
    }

    /// Asks the consumer to flush and close after everything queued; `onComplete(.closed)` follows.
    func close() {
        lock.withLock { queue.append(.close) }
        lock.broadcast()
    }

    /// Closes the plugin instance on the calling thread, for a run that fails before the
    /// consumer threads start (the ABI calls close exactly once after a successful create).
    func closeWithoutThread() {
        precondition(thread == nil, "consumer \(name) has a thread: close it through the queue")
        if let failure = consumer.close() { logger.error("consumer \(name) failed to close: \(failure)") }
    }

    /// Waits for the thread to end (after `close` completed).
    func join() { thread?.join() }

    private func next(deadline: UInt64?) -> Work? {
        lock.withLock {
            while head == queue.count {
                if let deadline, MonotonicClock.now() >= deadline { return nil }
                lock.wait(until: deadline)
            }
            let work = queue[head]!
            queue[head] = nil
            head += 1
            if case .batch = work { queuedBatches -= 1 }
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 256 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return work
        }
    }

    private func run() {
        var nextTick = consumer.tickInterval.map { MonotonicClock.now() + $0 }
        while true {
            if let tick = consumer.tickInterval, let due = nextTick, MonotonicClock.now() >= due {
                if !stopped, let failure = consumer.tick() {
                    logger.debug("consumer \(name): periodic call failed: \(failure)")
                }
                nextTick = MonotonicClock.now() + tick
            }
            guard let work = next(deadline: nextTick) else { continue }
            switch work {
            case .batch(let batch):
                deliver(batch)
            case .event(let event):
                if !stopped { consumer.event(event) }
            case .close:
                let failure = consumer.close()
                onComplete(.closed(consumer: index, error: failure))
                return
            }
        }
    }

    /// Consumes one batch, retrying by the error policy; a stopped consumer only completes it.
    private func deliver(_ batch: DeliveryBatch) {
        guard !stopped else {
            onComplete(.batch(batch.ticket, consumer: index, error: nil))
            return
        }
        var attempt = 0
        while let failure = consumer.consume(batch.batch) {
            attempt += 1
            let origin = batch.batch.origin
            guard let delay = errorPolicy.delay(beforeRetry: attempt) else {
                stopped = true
                onComplete(.stopped(consumer: index, ticket: batch.ticket, error: failure))
                return
            }
            logger.warning("consumer \(name) failed on a batch from \(origin.worker).\(origin.instance): \(failure); retrying",
                           metadata: ["retry": "\(attempt)", "in": "\(nanoseconds(delay) / 1_000_000)ms"])
            WorkerThread.sleep(delay)
        }
        onComplete(.batch(batch.ticket, consumer: index, error: nil))
    }
}
