import SystemKit

/// Which of a worker's output streams a line came from.
public enum WorkerLogStream: String, Hashable, Sendable, CaseIterable {
    /// Descriptor 1.
    case stdout
    /// Descriptor 2.
    case stderr
}

/// One captured output line of a worker instance, as `ringmaster logs` shows it.
public struct WorkerLogLine: Hashable, Sendable {
    /// The worker's name.
    public let worker: String
    /// The instance index within the pool.
    public let instance: Int
    /// 1 for the instance's first line, then one more for each line, across restarts, for the
    /// whole run: never reused, so a follower can tell a gap (lines that left the tail) from none.
    public let number: UInt64
    /// When the supervisor read the line (not when the worker wrote it).
    public let timestamp: WallClockTime
    /// stdout or stderr.
    public let stream: WorkerLogStream
    /// The line without its line ending (UTF-8 repaired, long lines in pieces: see `LineSplitter`).
    public let text: String

    /// Makes a line; `WorkerLogBook.append` is the usual source of these.
    public init(worker: String, instance: Int, number: UInt64, timestamp: WallClockTime,
                stream: WorkerLogStream, text: String) {
        self.worker = worker
        self.instance = instance
        self.number = number
        self.timestamp = timestamp
        self.stream = stream
        self.text = text
    }

    /// The line as a worker's log file holds it:
    /// `<RFC 3339 timestamp> <worker>.<instance> <stdout|stderr> <text>\n`.
    /// (`LogLineEncoder` writes the same bytes without making a string.)
    public var fileLine: String {
        var encoder = LogLineEncoder()
        var bytes: [UInt8] = []
        encoder.append(self, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A subscription to new lines, returned by `WorkerLogBook.subscribe`; give it back to
/// `unsubscribe` to stop.
public struct WorkerLogSubscription: Hashable, Sendable {
    let id: Int
}

/// The recent output of every worker instance, in memory, and observers of new lines: what
/// `ringmaster logs WORKER [-f]` reads.
///
/// Loop-thread only (no locks): lines are appended and observers called on the loop thread, and
/// the control socket reads on it too. So `logTail` followed by `subscribe` in one loop callback
/// sees every line exactly once: none can arrive in between.
///
/// Memory is bounded per instance: a tail keeps at most `Limits.lines` lines and
/// `Limits.bytes` bytes of text (the newest line is always kept). Instances are known from their
/// first line on; there are as many as the manifest defines.
public final class WorkerLogBook {
    /// How much of each instance's output is kept.
    public struct Limits: Hashable, Sendable {
        /// Lines kept per instance; at least 1.
        public var lines: Int
        /// Bytes of text (UTF-8, without line endings) kept per instance.
        public var bytes: Int

        /// Makes limits; `lines` must be at least 1.
        public init(lines: Int = 1000, bytes: Int = 256 << 10) {
            precondition(lines >= 1, "a tail keeps at least one line (got \(lines))")
            self.lines = lines
            self.bytes = bytes
        }
    }

    /// One instance's recent lines, oldest first.
    private struct Tail {
        /// Kept lines are `lines[start...]`; the dead prefix is compacted away now and then.
        var lines: [WorkerLogLine] = []
        var start = 0
        var bytes = 0
        var nextNumber: UInt64 = 1

        var kept: ArraySlice<WorkerLogLine> { lines[start...] }

        mutating func append(_ line: WorkerLogLine, limits: Limits) {
            lines.append(line)
            bytes += line.text.utf8.count
            while lines.count - start > 1 && (lines.count - start > limits.lines || bytes > limits.bytes) {
                bytes -= lines[start].text.utf8.count
                start += 1
            }
            // Amortised O(1): the prefix is dropped once it is as long as what is kept.
            if start >= 64 && start * 2 >= lines.count {
                lines.removeFirst(start)
                start = 0
            }
        }
    }

    private struct Key: Hashable {
        let worker: String
        let instance: Int
    }

    private struct Observer {
        let id: Int
        let worker: String
        /// nil: every instance of the worker.
        let instance: Int?
        let callback: (WorkerLogLine) -> Void
    }

    /// The limits each instance's tail keeps to.
    public let limits: Limits
    private let clock: () -> WallClockTime
    private var tails: [Key: Tail] = [:]
    private var observers: [Observer] = []
    private var nextObserverID = 0

    /// An empty book. `clock` stamps each line (inject a fixed one in tests).
    public init(limits: Limits = Limits(), clock: @escaping () -> WallClockTime = WallClockTime.now) {
        self.limits = limits
        self.clock = clock
    }

    /// Records a line: numbers and stamps it, keeps it in the instance's tail (dropping the
    /// oldest past the limits), then calls the observers of that worker and instance in the
    /// order they subscribed. Returns the line as recorded.
    @discardableResult
    public func append(worker: String, instance: Int, stream: WorkerLogStream, text: String) -> WorkerLogLine {
        let timestamp = clock()
        let limits = self.limits
        // One lookup, and the tail is changed in place (no copy of its array).
        let line = modifyTail(Key(worker: worker, instance: instance)) { tail in
            let line = WorkerLogLine(worker: worker, instance: instance, number: tail.nextNumber, timestamp: timestamp,
                                     stream: stream, text: text)
            tail.nextNumber += 1
            tail.append(line, limits: limits)
            return line
        }
        // A snapshot, so observers may subscribe or unsubscribe from inside their callback;
        // one unsubscribed meanwhile is skipped.
        let current = observers
        for observer in current where observer.worker == worker && (observer.instance ?? instance) == instance {
            guard observers.contains(where: { $0.id == observer.id }) else { continue }
            observer.callback(line)
        }
        return line
    }

    private func modifyTail<Result>(_ key: Key, _ body: (inout Tail) -> Result) -> Result {
        body(&tails[key, default: Tail()])
    }

    /// The instance's kept lines, oldest first (empty for an instance that printed nothing yet,
    /// or that the manifest does not define).
    public func logTail(worker: String, instance: Int) -> [WorkerLogLine] {
        tails[Key(worker: worker, instance: instance)].map { Array($0.kept) } ?? []
    }

    /// The number the instance's next line will get (1 before its first line).
    public func nextNumber(worker: String, instance: Int) -> UInt64 {
        tails[Key(worker: worker, instance: instance)]?.nextNumber ?? 1
    }

    /// Calls `observer` with every line recorded from now on for `worker`'s `instance`, or for
    /// every instance of it when `instance` is nil. The callback runs on the loop thread, inside
    /// `append`: it must not block (hand the line to a socket's write queue, not to write(2)).
    public func subscribe(worker: String, instance: Int? = nil,
                          _ observer: @escaping (WorkerLogLine) -> Void) -> WorkerLogSubscription {
        nextObserverID += 1
        observers.append(Observer(id: nextObserverID, worker: worker, instance: instance, callback: observer))
        return WorkerLogSubscription(id: nextObserverID)
    }

    /// Stops a subscription and releases its callback; unknown or repeated ones are ignored.
    public func unsubscribe(_ subscription: WorkerLogSubscription) {
        observers.removeAll { $0.id == subscription.id }
    }

    /// How many subscriptions are active.
    public var subscriberCount: Int { observers.count }
}
