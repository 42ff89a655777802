import LoopKit
import Logging
import Manifest
import RingChannel

/// Stall detection for one instance of a worker with a `stall_timeout`.
///
/// A running process that commits nothing (no record of any type, heartbeats included) for the
/// timeout while it is not blocked on a full ring is stopped, and its exit counts as `stalled`.
///
/// One loop timer per instance, armed only while a process runs and re-armed lazily: a drain that
/// parsed a record only stores the time (no timer call per drain); when the timer fires it
/// compares that time with the timeout and sleeps for the remainder. Workers without
/// `stall_timeout` have no watch and no timer, so an idle supervisor still never wakes.
/// Loop-thread only.
final class StallWatch {
    /// The worker's `stall_timeout`.
    let timeout: Duration
    let timeoutNanoseconds: UInt64
    private let timer: Timer
    /// When the stall clock last started over (CLOCK_MONOTONIC ns): the start, the last drain
    /// that parsed a record, the last release of ring space, or a check that found it blocked.
    private(set) var clockStart: UInt64 = 0
    /// The current process was found stalled and is being stopped.
    private(set) var stalled = false

    init(loop: Loop, timeout: Duration) {
        self.timeout = timeout
        timeoutNanoseconds = UInt64(max(1, nanoseconds(timeout)))
        timer = Timer(loop: loop)
    }

    /// A sign of life, or the end of a blocked spell: the clock starts over. One clock read and
    /// a store; the timer is left alone.
    func restartClock() {
        clockStart = MonotonicClock.now()
    }

    /// Watches a process that just started: a fresh clock, the timer due after the timeout.
    func begin(_ check: @escaping () -> Void) {
        stalled = false
        restartClock()
        timer.start(after: timeout, check)
    }

    /// (Re)arms the timer; replaces whatever was scheduled.
    func schedule(after delay: Duration, _ callback: @escaping () -> Void) {
        timer.start(after: delay, callback)
    }

    /// Records that the process is being stopped for stalling.
    func markStalled() { stalled = true }

    /// The process ended: stops the timer and says whether it was stopped for stalling.
    func end() -> ExitReason? {
        timer.stop()
        defer { stalled = false }
        return stalled ? .stalled(after: timeout) : nil
    }

    /// Releases the timer for good (end of the run).
    func close() { timer.close() }
}

extension Supervisor {
    /// Starts the stall watch of a process that just started; nothing for a worker without
    /// `stall_timeout`.
    func watchForStall(_ instance: Instance) {
        guard let timeout = instance.worker.stallTimeout else { return }
        let watch = instance.stall ?? StallWatch(loop: loop, timeout: timeout)
        instance.stall = watch
        watch.begin { [unowned self, unowned instance] in checkStall(instance) }
        logger.debug("\(instance.label): stall watch armed for \(Units.describe(timeout))")
    }

    /// The stall timer fired: judge the instance, or re-arm for what is left of its timeout.
    private func checkStall(_ instance: Instance) {
        // A process that exited but whose output is still being read is no longer judged.
        guard let watch = instance.stall, !watch.stalled, instance.state == .running,
              let process = instance.process, process.exitStatus == nil,
              instance.quarantine == nil, !shuttingDown else { return }
        let recheck = { [unowned self, unowned instance] in checkStall(instance) }
        if instance.sawEndOfStream {
            // Nothing may follow end-of-stream, not even a heartbeat: the process is finishing,
            // and its exit is up to it.
            logger.debug("\(instance.label): end of stream seen; stall watch stops")
            return
        }
        if let blocked = blockedReason(instance) {
            // Time spent blocked does not count: the clock starts over.
            watch.restartClock()
            logger.debug("\(instance.label): \(blocked); stall clock held")
            watch.schedule(after: watch.timeout, recheck)
            return
        }
        if instance.reader.pendingBytes > 0 {
            // Committed and not drained yet (the loop was busy): progress the next drain will see.
            watch.restartClock()
            markReady(instance)
            watch.schedule(after: watch.timeout, recheck)
            return
        }
        let quiet = MonotonicClock.now() &- watch.clockStart
        if quiet < watch.timeoutNanoseconds {
            watch.schedule(after: .nanoseconds(Int64(watch.timeoutNanoseconds - quiet)), recheck)
            return
        }
        stopStalled(instance, process, watch)
    }

    /// Why the instance cannot commit now through no fault of its own, or nil.
    ///
    /// `producer_waiting` counts only while the ring holds bytes not given back yet: a producer
    /// that waits for space in an empty ring has missed its wake-up, and is stalled.
    private func blockedReason(_ instance: Instance) -> String? {
        if heldBack.contains(instance.id) { return "held back by a full consumer queue" }
        let held = instance.outstanding.count
        if held > 0 { return "consumers still hold \(held == 1 ? "a batch" : "\(held) batches") of its ring" }
        let ringHoldsBytes = instance.reader.head != instance.reader.position || instance.reader.pendingBytes > 0
        if ringHoldsBytes && instance.channel.segment.producerWaiting { return "the producer waits for ring space" }
        return nil
    }

    /// Stops a stalled process like a shutdown does: the stop signal to its group, SIGKILL after
    /// the grace period. Its exit then counts as `stalled` (a failure) for the restart policy.
    private func stopStalled(_ instance: Instance, _ process: ChildProcess, _ watch: StallWatch) {
        watch.markStalled()
        let stop = instance.worker.stop
        logger.error("\(instance.label) stalled: nothing committed for \(Units.describe(watch.timeout))",
                     metadata: ["stop": "SIG\(stop.signalName)", "grace": "\(Units.describe(stop.grace))"])
        process.killGroup(Signal(rawValue: stop.signal))
        watch.schedule(after: stop.grace) { [unowned self, unowned instance] in
            guard let process = instance.process else { return }
            logger.warning("\(instance.label) still running after its grace period: SIGKILL")
            process.killGroup(.kill)
            process.kill(.kill)
        }
    }
}
