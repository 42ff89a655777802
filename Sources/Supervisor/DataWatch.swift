import LoopKit
import RingChannel
import SystemKit

/// Wakes the loop when a producer signals data-ready.
///
/// An eventfd is polled by the loop itself. A named semaphore cannot be polled, so a thread of
/// its own waits on it and wakes the loop through an async handle.
final class DataWatch {
    private var poll: FDWatch?
    private var waiter: SemaphoreWaiter?
    private var async: Async?

    /// Starts watching `channel`'s data-ready signal; `onReady` runs on the loop thread.
    init(loop: Loop, channel: Channel, onReady: @escaping () -> Void) throws(SystemError) {
        if let eventfd = channel.notifiers.dataReady as? EventFD {
            poll = try FDWatch(loop: loop, descriptor: eventfd.descriptor, events: .readable) { _ in
                // Never blocks, whatever the child did to O_NONBLOCK (RWF_NOWAIT).
                _ = try? eventfd.consume()
                onReady()
            }
        } else {
            let async = try Async(loop: loop, onReady)
            self.async = async
            waiter = SemaphoreWaiter(signal: channel.notifiers.dataReady, async: async)
        }
    }

    /// Stops watching; joins the semaphore thread if there is one.
    func close() {
        poll?.close()
        poll = nil
        waiter?.stop()
        waiter = nil
        async?.close()
        async = nil
    }
}

/// A thread blocked on a semaphore, forwarding each wake-up to the loop.
final class SemaphoreWaiter: @unchecked Sendable {
    private let signal: any WakeSignal
    private let async: Async
    private let lock = ConditionLock()
    private var stopping = false
    private var thread: WorkerThread?

    init(signal: any WakeSignal, async: Async) {
        self.signal = signal
        self.async = async
        thread = WorkerThread(name: "rm-semwait") { [self] in
            while true {
                _ = try? self.signal.wait(timeoutNanoseconds: nil)
                if lock.withLock({ stopping }) { return }
                self.async.send()
            }
        }
    }

    /// Ends the thread: sets the flag, posts the semaphore so the wait returns, joins.
    func stop() {
        lock.withLock { stopping = true }
        try? signal.signal()
        thread?.join()
        thread = nil
    }
}
