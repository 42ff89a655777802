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

/// Runs one consumer on a thread of its own behind a bounded queue.
///
/// The loop thread submits work and never waits: when the queue is full, `submit` says so and the
/// loop stops draining the rings routed here, which backs pressure up to their producers.
/// Completions are reported through `onComplete`, called on the consumer's thread.
///
/// Wake-ups are sent after the mutex is released: a consumer thread woken while the loop still
/// holds it (on the loop's CPU, it runs at once) would only block on the mutex and switch back.
/// The waiter re-checks the queue under the mutex, so no wake-up is lost.
final class ConsumerHost: @unchecked Sendable {
    enum Work {
        case batch(DeliveryBatch)
        case event(WorkerEvent)
        case close
    }

    /// What the consumer thread reports back.
    enum Completion: Sendable {
        case batch(BatchTicket, consumer: Int, error: String?)
        case closed(consumer: Int, error: String?)
    }

    let name: String
    let index: Int
    let capacity: Int
    private let consumer: any Consumer
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

    init(name: String, index: Int, consumer: any Consumer, capacity: Int = 64, logger: Logger,
         onComplete: @escaping @Sendable (Completion) -> Void) {
        self.name = name
        self.index = index
        self.consumer = consumer
        self.capacity = capacity
        self.logger = logger
        self.onComplete = onComplete
    }

    /// Starts the thread.
    func start() {
        thread = WorkerThread(name: "rm-\(name)") { [self] in run() }
    }

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
        let tickNanos = consumer.tickInterval.map { UInt64(max(1, nanoseconds($0))) }
        var nextTick = tickNanos.map { MonotonicClock.now() + $0 }
        while true {
            if let tick = tickNanos, let due = nextTick, MonotonicClock.now() >= due {
                consumer.tick()
                nextTick = MonotonicClock.now() + tick
            }
            guard let work = next(deadline: nextTick) else { continue }
            switch work {
            case .batch(let batch):
                var failure: String? = nil
                do { try consumer.consume(batch.batch) } catch { failure = "\(error)" }
                onComplete(.batch(batch.ticket, consumer: index, error: failure))
            case .event(let event):
                consumer.event(event)
            case .close:
                var failure: String? = nil
                do { try consumer.close() } catch { failure = "\(error)" }
                onComplete(.closed(consumer: index, error: failure))
                return
            }
        }
    }
}
