import CShim
import Glibc
import RingChannel
import RingmasterProducer

/// The workers of the supervisor cases. `ringmaster run` starts them from generated manifests
/// (and the restart baseline starts the same program with `posix_spawn`); each attaches with
/// `Producer.attach()` like any worker. Times are CLOCK_MONOTONIC nanoseconds, the clock every
/// process on the machine shares, so stamps taken in different processes subtract.
enum SupervisedRoles {
    /// `--role restart-worker --last-generation G`: attaches, stamps "ready", commits one record,
    /// `<generation> <ready ns> <crash ns>`, and SIGKILLs itself; generation G instead commits
    /// crash 0, ends its stream and exits 0, which ends an `on-failure` run.
    ///
    /// The crash stamp is taken before the record is committed (the committing and the kill
    /// come after it), so a latency measured from it errs long, never short.
    static func restartWorker(_ arguments: ArraySlice<String>) -> Never {
        let options = RoleArguments(arguments, role: "restart-worker")
        let last = UInt64(options.value("--last-generation") ?? "") ?? 0
        var producer: Producer
        do { producer = try Producer.attach() } catch { options.fail("\(error)") }
        let ready = MonotonicClock.now()
        let generation = producer.generation
        let final = generation >= last
        let crash = final ? 0 : MonotonicClock.now()
        do {
            try producer.send(bytes: Array("\(generation) \(ready) \(crash)".utf8))
            if final { try producer.finish() }
        } catch { options.fail("\(error)") }
        if final { exit(0) }
        kill(getpid(), SIGKILL)
        pause()
        exit(99)
    }

    /// `--role supervised-producer --size B --seconds S --report PATH [--cpu N]`: the batched ring
    /// producer of the table (same loop, same records), supervised. Its clock runs from the first
    /// record to the moment the supervisor has released the whole ring (`head` = `tail`), which
    /// it does only after every routed consumer finished every batch; then it writes
    /// `<records> <checksum> <start ns> <end ns>` to PATH and exits 0. Attaching, and the
    /// supervisor's own start-up, are outside the clock.
    static func supervisedProducer(_ arguments: ArraySlice<String>) -> Never {
        let options = RoleArguments(arguments, role: "supervised-producer")
        guard let size = options.value("--size").flatMap({ Int($0) }), size >= 16, size % 8 == 0,
              let seconds = options.value("--seconds").flatMap({ Double($0) }), seconds > 0,
              let report = options.value("--report")
        else { options.fail("needs --size (multiple of 8, ≥ 16), --seconds and --report") }
        if let cpu = options.value("--cpu").flatMap({ CInt($0) }), cshim_pin_to_cpu(cpu) != 0 {
            writeStandardError("supervised-producer: cannot pin to CPU \(cpu): \(Errno.current); running unpinned\n")
        }
        var producer: Producer
        do { producer = try Producer.attach() } catch { options.fail("\(error)") }
        // With a start file, the clock starts once the bench has set up what runs alongside
        // (the control-plane load), not at attach.
        if let gate = options.value("--start-file") {
            let limit = MonotonicClock.now() &+ 60_000_000_000
            while access(gate, F_OK) != 0 {
                if MonotonicClock.now() > limit { options.fail("\(gate) did not appear within 60 s") }
                usleep(1_000)
            }
        }
        var filler = RecordFiller(size: size)
        let start = MonotonicClock.now()
        do {
            try ProducerRole.produceRing(&producer.writer, batched: true, filler: &filler,
                                         chunk: Transport.ringBatched.recordsPerClockCheck(size: size),
                                         deadline: start &+ UInt64(seconds * 1e9))
            try producer.finish()
        } catch { options.fail("\(error)") }
        // The region must outlive the raw pointer: the producer's last use is here, and its
        // mapping would go with it.
        let region = producer.segment.region
        withExtendedLifetime(region) {
            let base = region.base
            let tail = cshim_load_acquire_u64(base + SegmentLayout.tailOffset)
            // This process has a CPU of its own: spinning costs the supervisor nothing and ends
            // the clock within a few nanoseconds of the release.
            let limit = MonotonicClock.now() &+ 30_000_000_000
            var spins = 0
            while cshim_load_acquire_u64(base + SegmentLayout.headOffset) != tail {
                cshim_cpu_relax()
                spins &+= 1
                if spins & 0xFFFF == 0, MonotonicClock.now() > limit { options.fail("the supervisor did not release the ring within 30 s") }
            }
        }
        let end = MonotonicClock.now()
        let text = "\(filler.count) \(filler.checksum) \(start) \(end)\n"
        let fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { options.fail("open(\(report)): \(Errno.current)") }
        do { try writeText(fd, text) } catch { options.fail("\(error)") }
        close(fd)
        exit(0)
    }
}

/// `--flag value` pairs of a worker role, and how the role fails (status 2, to standard error,
/// which the supervisor logs).
struct RoleArguments {
    let role: String
    private var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>, role: String) {
        self.role = role
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { break }
            values[flag] = value
        }
    }

    func value(_ flag: String) -> String? { values[flag] }

    func fail(_ message: String) -> Never {
        writeStandardError("ringmaster-bench \(role): \(message)\n")
        exit(2)
    }
}
