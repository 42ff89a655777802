import CShim
import Glibc
import Synchronization
import SystemKit

/// An entry's status, or why there is none.
enum StatOutcome {
    case status(EntryStatus)
    case failed(Errno)
}

/// One directory's `fstatat` calls, in chunks of `StatAhead.chunkSize` entries that the walking
/// thread and the helpers claim one at a time. A chunk is free, claimed (being stat'ed), done
/// (its outcomes are written) or cancelled (its outcomes are not to be trusted). The walking
/// thread asks for an entry's outcome when it reaches the entry; by then a helper has usually
/// done its chunk, in the background, while the walker was busy with the entries before it or
/// below them. The walking thread never waits for a helper: an entry whose chunk a helper is
/// still on, or whose chunk was cancelled, it stats itself (the calls only read).
final class StatJob: @unchecked Sendable {
    static let free: UInt8 = 0
    static let claimed: UInt8 = 1
    static let done: UInt8 = 2
    static let cancelled: UInt8 = 3

    let directory: DirectoryHandle
    let follow: Bool
    let count: Int
    let chunks: Int
    /// Keeps the names alive for the helpers; `names` points into it.
    private let storage: NameStorage
    private let names: UnsafeRawPointer
    /// Each entry's name offset in `names`.
    private let offsets: UnsafeMutablePointer<UInt32>
    private let results: UnsafeMutablePointer<StatOutcome>
    private let states: UnsafeMutablePointer<Atomic<UInt8>>
    /// Chunks from this one on are not free (a hint: helpers look below it).
    private let freeBelow: Atomic<Int>

    init(directory: DirectoryHandle, follow: Bool, storage: NameStorage, entries: [DirectoryListing.Entry]) {
        self.directory = directory
        self.follow = follow
        self.storage = storage
        names = UnsafeRawPointer(storage.base)
        count = entries.count
        chunks = (count + StatAhead.chunkSize - 1) / StatAhead.chunkSize
        offsets = .allocate(capacity: count)
        for (index, entry) in entries.enumerated() { offsets[index] = entry.offset }
        results = .allocate(capacity: count)
        states = .allocate(capacity: chunks)
        freeBelow = Atomic(chunks)
        for chunk in 0..<chunks { (states + chunk).initialize(to: Atomic(Self.free)) }
    }

    deinit {
        offsets.deallocate()
        results.deallocate()
        states.deinitialize(count: chunks)
        states.deallocate()
    }

    /// Entry `index`'s outcome: a done chunk's, or the chunk's stat'ed now when it is free.
    /// Nil when a helper is still on it or it was cancelled: the caller stats the entry itself.
    /// Walking thread only.
    @inline(__always)
    func outcome(_ index: Int) -> StatOutcome? {
        let chunk = index / StatAhead.chunkSize
        let state = states[chunk].load(ordering: .acquiring)
        if state == Self.done { return results[index] }
        guard state == Self.free,
              states[chunk].compareExchange(expected: Self.free, desired: Self.claimed, ordering: .acquiring).exchanged else {
            return nil
        }
        work(chunk)
        // Only this thread cancels, so the chunk is still claimed.
        states[chunk].store(Self.done, ordering: .releasing)
        return results[index]
    }

    /// A helper's share: claims the last free chunk and stats it. False when none is free.
    /// Helpers work from the end while the walking thread goes from the start, so the two meet
    /// once, in the middle, instead of the walker waiting for every chunk the helper just took.
    func helpOnce() -> Bool {
        var chunk = freeBelow.load(ordering: .relaxed) - 1
        while chunk >= 0 {
            if states[chunk].load(ordering: .relaxed) == Self.free,
               states[chunk].compareExchange(expected: Self.free, desired: Self.claimed, ordering: .acquiring).exchanged {
                freeBelow.store(chunk, ordering: .relaxed)
                work(chunk)
                // Fails when the walking thread cancelled the chunk meanwhile: the outcomes
                // may come from another directory that reused the descriptor, and stay unused.
                _ = states[chunk].compareExchange(expected: Self.claimed, desired: Self.done, ordering: .releasing)
                return true
            }
            chunk -= 1
        }
        freeBelow.store(0, ordering: .relaxed)
        return false
    }

    /// Whether a helper may still find a free chunk here.
    var mayHaveFreeChunks: Bool { freeBelow.load(ordering: .relaxed) > 0 }

    /// Cancels every chunk not done, without waiting: after this no outcome a helper finds
    /// is used, so `directory` may be closed (a helper still on a chunk may then stat names in
    /// whatever the number comes to name: reads, whose results are dropped). Chunks done
    /// before stay usable. Walking thread only.
    func cancel() {
        for chunk in 0..<chunks {
            var state = states[chunk].load(ordering: .acquiring)
            while state == Self.free || state == Self.claimed {
                let swap = states[chunk].compareExchange(expected: state, desired: Self.cancelled, ordering: .acquiringAndReleasing)
                if swap.exchanged { break }
                state = swap.original
            }
        }
        freeBelow.store(0, ordering: .relaxed)
    }

    /// The statuses of the entries of `chunk`.
    private func work(_ chunk: Int) {
        let end = min(count, (chunk + 1) * StatAhead.chunkSize)
        for index in (chunk * StatAhead.chunkSize)..<end {
            let name = (names + Int(offsets[index])).assumingMemoryBound(to: CChar.self)
            do {
                (results + index).initialize(to: .status(try WalkSystem.status(in: directory, name, followingLinks: follow)))
            } catch {
                (results + index).initialize(to: .failed(error))
            }
        }
    }
}

/// Stat-ahead threads: the walking thread hands every directory whose entries it will stat to
/// the helpers as a `StatJob` when it reads the directory, and goes on; the helpers stat chunks
/// of the newest job first (the directory the walk is in), then of older ones (the rest of the
/// directories above it, which the walk comes back to). The walking thread stats a chunk itself
/// when it gets there first, and emits the records in order, as before.
///
/// Idle helpers spin briefly on `published` (wake-ups cost tens of microseconds on a virtual
/// machine), then sleep on a condition variable. All pthread code of the walker is in this file.
final class StatAhead: @unchecked Sendable {
    /// Entries per chunk: a few microseconds of `fstatat` calls, so the walking thread and a
    /// helper share even a small directory, and a claim costs little against the calls.
    static let chunkSize = 16
    /// Spins (PAUSE) of an idle helper before it sleeps: some tens of microseconds.
    static let idleSpins = 2_000

    /// How many helper threads there are (the walking thread works too).
    let helpers: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Jobs that may have free chunks, oldest first. Under `mutex`.
    private var jobs: [StatJob] = []
    private var sleepers = 0
    /// Bumped (under `mutex`) by every `add`, so a spinning helper sees new work without the lock.
    private let published = Atomic<Int>(0)

    /// Starts `helpers` threads; they live as long as the process (the walker exits when done).
    init(helpers: Int) {
        self.helpers = helpers
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
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

    /// Hands `job` to the helpers.
    func add(_ job: StatJob) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        _ = published.add(1, ordering: .relaxed)
        if sleepers > 0 { pthread_cond_signal(wake) }
        pthread_mutex_unlock(mutex)
    }

    /// Takes `job` back before its directory is closed: no outcome a helper finds for it is used after this.
    func finish(_ job: StatJob) {
        pthread_mutex_lock(mutex)
        if let index = jobs.lastIndex(where: { $0 === job }) { jobs.remove(at: index) }
        pthread_mutex_unlock(mutex)
        job.cancel()
    }

    private func helperLoop() {
        while true {
            let seen = published.load(ordering: .relaxed)
            if let job = nextJob() {
                _ = job.helpOnce()
                continue
            }
            // Nothing to do: spin a little for new work, then sleep until there is some.
            var spins = 0
            while spins < Self.idleSpins && published.load(ordering: .relaxed) == seen {
                cshim_cpu_relax()
                spins += 1
            }
            pthread_mutex_lock(mutex)
            while published.load(ordering: .relaxed) == seen {
                sleepers += 1
                pthread_cond_wait(wake, mutex)
                sleepers -= 1
            }
            pthread_mutex_unlock(mutex)
        }
    }

    /// The newest job that may have a free chunk; drops the ones that have none.
    private func nextJob() -> StatJob? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while let last = jobs.last {
            if last.mayHaveFreeChunks { return last }
            jobs.removeLast()
        }
        return nil
    }

    /// The default number of helpers: the CPUs this process may use, shared by the pool's
    /// instances, less the walking thread; at most 3 (the disk, not the CPU, is the limit after that).
    static func defaultHelpers(instances: Int) -> Int {
        max(0, min(3, WalkSystem.allowedCPUs() / max(1, instances) - 1))
    }
}
