// The test producer: numbered, checksummed records (see TestRecord) with switches to crash,
// exit with a code, ignore SIGTERM, sleep, checkpoint and resume. Used by the channel tests and
// the supervisor's tests; not shipped.
//
//   ringmaster-test-producer [--records N] [--min-size B] [--max-size B] [--seed S]
//       [--batch] [--checkpoint-every K] [--crash-after N] [--crash-mid-record]
//       [--crash-generations G] [--exit-code C] [--ignore-term] [--sleep-ms MS]
//       [--linger-ms MS] [--no-finish] [--forever] [--corrupt-after N] [--truncate-after N]
//       [--stall-after N] [--heartbeat-ms MS]
//
// --stall-after N publishes the first N records of a run and then goes silent without exiting
// (like the crash switches, only in generations below --crash-generations). --heartbeat-ms MS
// commits a heartbeat every MS ms while lingering; the linger then comes before end-of-stream,
// since no record may follow that.
//
// With --checkpoint-every K the token is the next sequence number (decimal text); on a restart it
// resumes at token + RINGMASTER_RESUME_SKIP, so the delivered sequences have no gap and no duplicate.
import Glibc
import RingChannel
import RingmasterProducer
import RingmasterTestSupport

struct Options {
    var records: UInt64 = 1000
    var minSize = 16
    var maxSize = 64
    var seed: UInt64 = 1
    var batch = false
    var checkpointEvery: UInt64 = 0
    var crashAfter: UInt64? = nil
    var crashMidRecord = false
    var crashGenerations: UInt64 = .max
    var exitCode: CInt = 0
    var ignoreTerm = false
    var sleepMilliseconds = 0
    var lingerMilliseconds = 0
    var finish = true
    var forever = false
    var corruptAfter: UInt64? = nil
    var truncateAfter: UInt64? = nil
    var stallAfter: UInt64? = nil
    var heartbeatMilliseconds = 0
}

func fail(_ message: String) -> Never {
    let line = "ringmaster-test-producer: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var iterator = arguments.makeIterator()
    func value(_ flag: String) -> String {
        guard let text = iterator.next() else { fail("\(flag) needs a value") }
        return text
    }
    func number(_ flag: String) -> UInt64 {
        guard let n = UInt64(value(flag)) else { fail("\(flag) needs a non-negative integer") }
        return n
    }
    while let argument = iterator.next() {
        switch argument {
        case "--records": options.records = number(argument)
        case "--min-size": options.minSize = Int(number(argument))
        case "--max-size": options.maxSize = Int(number(argument))
        case "--seed": options.seed = number(argument)
        case "--batch": options.batch = true
        case "--checkpoint-every": options.checkpointEvery = number(argument)
        case "--crash-after": options.crashAfter = number(argument)
        case "--crash-mid-record": options.crashMidRecord = true
        case "--crash-generations": options.crashGenerations = number(argument)
        case "--exit-code": options.exitCode = CInt(number(argument))
        case "--ignore-term": options.ignoreTerm = true
        case "--sleep-ms": options.sleepMilliseconds = Int(number(argument))
        case "--linger-ms": options.lingerMilliseconds = Int(number(argument))
        case "--no-finish": options.finish = false
        case "--forever": options.forever = true
        case "--corrupt-after": options.corruptAfter = number(argument)
        case "--truncate-after": options.truncateAfter = number(argument)
        case "--stall-after": options.stallAfter = number(argument)
        case "--heartbeat-ms": options.heartbeatMilliseconds = Int(number(argument))
        default: fail("unknown argument \(argument)")
        }
    }
    return options
}

func crashNow() -> Never {
    kill(getpid(), SIGKILL)
    pause()
    exit(99)
}

/// One run of the producer: where it is in the sequence and what it has sent.
struct Run {
    let options: Options
    let maxSize: Int
    let crashes: Bool
    var sequence: UInt64 = 0
    var sentThisRun: UInt64 = 0

    var atCrashPoint: Bool {
        crashes && options.crashAfter == sentThisRun
    }
    var hasMore: Bool { options.forever || sequence < options.records }
    var atStallPoint: Bool {
        crashes && options.stallAfter == sentThisRun
    }

    mutating func writeOne(_ writer: inout RingWriter) throws(RingWriteError) {
        if options.checkpointEvery > 0 && sequence % options.checkpointEvery == 0 && sequence > 0 {
            try writer.sendReserved(.checkpoint, bytes: Array(String(sequence).utf8))
        }
        let length = TestRecord.length(sequence: sequence, seed: options.seed, minimum: options.minSize, maximum: maxSize)
        let buffer = try writer.reserve(length)
        TestRecord.fill(buffer, sequence: sequence)
        if options.crashMidRecord && atCrashPoint {
            // A record written but never committed: the reader must not see it.
            writer.publish()
            crashNow()
        }
        try writer.commit()
        sequence += 1
        sentThisRun += 1
    }

    mutating func run(_ producer: inout Producer) throws(RingWriteError) {
        while hasMore {
            if let limit = options.corruptAfter, sentThisRun == limit {
                producer.writer.publish()
                corrupt(&producer)
            }
            if atCrashPoint && !options.crashMidRecord {
                producer.writer.publish()
                crashNow()
            }
            if atStallPoint { stallNow(&producer) }
            if crashes && options.truncateAfter == sentThisRun { try truncateNow(&producer) }
            if options.batch {
                try producer.batch { (writer) throws(RingWriteError) in
                    var n = 0
                    while n < 256 && hasMore && !(atCrashPoint && !options.crashMidRecord) && !atStallPoint {
                        try writeOne(&writer)
                        n += 1
                    }
                }
            } else {
                try writeOne(&producer.writer)
            }
            if options.sleepMilliseconds > 0 { usleep(UInt32(options.sleepMilliseconds * 1000)) }
        }
        if atCrashPoint {
            producer.writer.publish()
            crashNow()
        }
        if atStallPoint { stallNow(&producer) }
        if options.heartbeatMilliseconds > 0 { try lingerWithHeartbeats(&producer) }
        if options.finish { try producer.finish() }
    }

    /// A hostile producer on a `posix` ring: commits three records without publishing them, shrinks
    /// the segment to its header page (their pages are gone), then publishes them. The supervisor's
    /// next read of them faults (SIGBUS), which its guard must survive. Then waits to be killed.
    mutating func truncateNow(_ producer: inout Producer) throws(RingWriteError) -> Never {
        let descriptor = producer.segment.descriptor.rawValue
        try producer.batch { (writer) throws(RingWriteError) in
            for _ in 0..<3 { try writeOne(&writer) }
            if ftruncate(descriptor, off_t(SegmentLayout.headerSize)) != 0 {
                let message = "ringmaster-test-producer: cannot truncate the segment: \(Errno.current)\n"
                _ = write(2, message, message.utf8.count)
                exit(3)
            }
        }
        while true { pause() }
    }

    /// Sleeps for --linger-ms, committing a heartbeat every --heartbeat-ms.
    func lingerWithHeartbeats(_ producer: inout Producer) throws(RingWriteError) {
        let interval = UInt64(options.heartbeatMilliseconds) * 1_000_000
        let end = MonotonicClock.now() + UInt64(options.lingerMilliseconds) * 1_000_000
        while true {
            try producer.heartbeat()
            let now = MonotonicClock.now()
            if now >= end { return }
            usleep(UInt32(min(interval, end - now) / 1000))
        }
    }
}

/// Publishes what was committed, then does nothing, without exiting: a wedged producer. The stop
/// signal ends it (unless --ignore-term); so does the supervisor's death (the lifeline).
func stallNow(_ producer: inout Producer) -> Never {
    // The producer is borrowed (inout) for as long as this waits, so its lifeline watch stays.
    producer.writer.publish()
    while true { pause() }
}

/// Publishes a record whose length exceeds any max record, then waits to be killed: the
/// supervisor must quarantine this instance and leave every other one alone.
func corrupt(_ producer: inout Producer) -> Never {
    let base = producer.segment.region.base
    let tail = base.load(fromByteOffset: SegmentLayout.tailOffset, as: UInt64.self)
    let offset = SegmentLayout.dataOffset + Int(tail & (producer.segment.geometry.capacity - 1))
    base.storeBytes(of: (UInt64(9_000_000) | UInt64(1) << 32).littleEndian, toByteOffset: offset, as: UInt64.self)
    base.storeBytes(of: tail + 16, toByteOffset: SegmentLayout.tailOffset, as: UInt64.self)
    // Wake the reader so the corruption is seen while this process runs. (Using the producer
    // here also keeps it, and so its notifier descriptors, alive until this point.)
    producer.writer.wakeReader()
    while true { pause() }
}

@main
enum TestProducer {
    static func main() {
        let options = parse(Array(CommandLine.arguments.dropFirst()))
        if options.ignoreTerm { signal(SIGTERM, SIG_IGN) }
        var producer: Producer
        do { producer = try Producer.attach() } catch { fail("\(error)") }
        var run = Run(options: options, maxSize: min(options.maxSize, producer.maxRecordLength),
                      crashes: producer.generation < options.crashGenerations)
        if let resume = producer.resume {
            let start = resume.token.flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
            run.sequence = start + resume.skip
        }
        do { try run.run(&producer) } catch { fail("\(error)") }
        if options.lingerMilliseconds > 0 && options.heartbeatMilliseconds == 0 {
            usleep(UInt32(options.lingerMilliseconds * 1000))
        }
        exit(options.exitCode)
    }
}
