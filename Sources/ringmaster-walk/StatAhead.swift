import Glibc
import SystemKit

/// An entry's status, or why there is none.
enum StatOutcome {
    case status(EntryStatus)
    case failed(Errno)
}

/// Stat-ahead threads: when a directory has many entries, their `fstatat` calls are spread over
/// the walking thread and a few helpers, relative to the same open directory. The walking thread
/// then emits the records in order, as before; only the waiting for the kernel runs in parallel.
///
/// One job at a time, handed over under a mutex in chunks of `chunkSize` entries; the walking
/// thread takes chunks too and returns when every chunk is done (so the results are complete and
/// visible: the mutex orders them). All pthread code of the walker is in this file.
final class StatAhead: @unchecked Sendable {
    /// One directory's worth of work. The pointers stay valid until `run` returns.
    struct Job {
        let directory: DirectoryHandle
        let names: UnsafeRawPointer
        let entries: UnsafePointer<DirectoryListing.Entry>
        let count: Int
        let follow: Bool
        let results: UnsafeMutablePointer<StatOutcome>
    }

    /// Entries per chunk: big enough that the hand-over costs little against the syscalls.
    static let chunkSize = 64

    /// How many helper threads there are (the walking thread works too).
    let helpers: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var job: Job?
    private var generation: UInt64 = 0
    private var nextChunk = 0
    private var chunks = 0
    private var chunksDone = 0

    /// Starts `helpers` threads; they live as long as the process (the walker exits when done).
    init(helpers: Int) {
        self.helpers = helpers
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(finished, nil)
        for _ in 0..<helpers {
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setdetachstate(&attributes, CInt(PTHREAD_CREATE_DETACHED))
            pthread_attr_setstacksize(&attributes, 256 << 10)
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let status = pthread_create(&thread, &attributes, { context in
                Unmanaged<StatAhead>.fromOpaque(context!).takeUnretainedValue().helperLoop()
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
            precondition(status == 0, "cannot start a stat-ahead thread: \(status)")
        }
    }

    /// Fills `job.results` for every entry, with the helpers; returns when all are filled.
    func run(_ job: Job) {
        let chunks = (job.count + Self.chunkSize - 1) / Self.chunkSize
        if helpers == 0 || chunks < 2 {
            Self.work(job, 0..<job.count)
            return
        }
        pthread_mutex_lock(mutex)
        self.job = job
        self.chunks = chunks
        nextChunk = 0
        chunksDone = 0
        generation &+= 1
        pthread_cond_broadcast(wake)
        drain(job)
        while chunksDone < chunks { pthread_cond_wait(finished, mutex) }
        self.job = nil
        pthread_mutex_unlock(mutex)
    }

    /// Takes and does chunks until none is left. Called and returns with the mutex held.
    private func drain(_ job: Job) {
        while nextChunk < chunks {
            let chunk = nextChunk
            nextChunk += 1
            pthread_mutex_unlock(mutex)
            Self.work(job, (chunk * Self.chunkSize)..<min(job.count, (chunk + 1) * Self.chunkSize))
            pthread_mutex_lock(mutex)
            chunksDone += 1
            if chunksDone == chunks { pthread_cond_signal(finished) }
        }
    }

    private func helperLoop() {
        pthread_mutex_lock(mutex)
        var seen: UInt64 = 0
        while true {
            while generation == seen { pthread_cond_wait(wake, mutex) }
            seen = generation
            if let job { drain(job) }
        }
    }

    /// The statuses of entries `range` of `job`.
    private static func work(_ job: Job, _ range: Range<Int>) {
        for index in range {
            let name = (job.names + Int(job.entries[index].offset)).assumingMemoryBound(to: CChar.self)
            do {
                (job.results + index).initialize(to: .status(try WalkSystem.status(in: job.directory, name, followingLinks: job.follow)))
            } catch {
                (job.results + index).initialize(to: .failed(error))
            }
        }
    }

    /// The default number of helpers: the CPUs this process may use, shared by the pool's
    /// instances, less the walking thread; at most 3 (the disk, not the CPU, is the limit after that).
    static func defaultHelpers(instances: Int) -> Int {
        max(0, min(3, WalkSystem.allowedCPUs() / max(1, instances) - 1))
    }
}
