import CShim
import Glibc
import Synchronization
import SystemKit

/// An entry's status, or why there is none.
enum StatOutcome {
    case status(EntryStatus)
    case failed(Errno)
}

/// A subdirectory a helper opened and read ahead of the walk: the walking thread takes it when
/// it gets there instead of opening and reading the directory itself.
final class PreparedDirectory: @unchecked Sendable {
    let handle: DirectoryHandle
    let listing: DirectoryListing
    let readError: Errno?

    init(handle: DirectoryHandle, listing: DirectoryListing, readError: Errno?) {
        self.handle = handle
        self.listing = listing
        self.readError = readError
    }
}

/// The work the helpers can do ahead of the walking thread in one directory:
///
/// - its entries' `fstatat` calls, in chunks of `StatAhead.chunkSize` entries, claimed one at a
///   time: helpers from the end, the walking thread from the start;
/// - with read-ahead, opening and reading its next subdirectories (by `d_type`), a few ahead of
///   the walking thread (`StatAhead.window`), each then a job of its own.
///
/// A chunk or a subdirectory is free, claimed (a thread is on it), done, cancelled (its result
/// is not to be trusted) or, for a subdirectory, taken by the walking thread. The walking thread
/// never waits for a helper: a chunk a helper is still on, or that was cancelled, it stats entry
/// by entry itself (the calls only read); a subdirectory not done it opens itself.
final class StatJob: @unchecked Sendable {
    static let free: UInt8 = 0
    static let claimed: UInt8 = 1
    static let done: UInt8 = 2
    static let cancelled: UInt8 = 3
    static let taken: UInt8 = 4

    let directory: DirectoryHandle
    let follow: Bool
    let count: Int
    let chunks: Int
    /// Levels of subdirectories below this directory that read-ahead may open (0: none).
    let readAheadLevels: Int
    /// Keeps the names alive for the helpers; `names` points into it.
    private let storage: NameStorage
    private let names: UnsafeRawPointer
    /// Each entry's name offset in `names`.
    private let offsets: UnsafeMutablePointer<UInt32>
    private let results: UnsafeMutablePointer<StatOutcome>
    private let states: UnsafeMutablePointer<Atomic<UInt8>>
    /// Chunks from this one on are not free (a hint: helpers look below it).
    private let freeBelow: Atomic<Int>

    /// Read-ahead: the entries that are directories (by `d_type`), in order, one slot each.
    private let slotEntries: [Int]
    /// Each entry's slot, or -1 (read-ahead only).
    private let slotOfEntry: UnsafeMutablePointer<Int32>?
    private let slotStates: UnsafeMutablePointer<Atomic<UInt8>>?
    /// A done slot's directory; written by the helper before `done`, read by the walking thread after.
    private let prepared: UnsafeMutablePointer<PreparedDirectory?>?
    /// Slots below this one the walking thread has passed.
    private let walkerSlot = Atomic<Int>(0)
    /// Slots below this one a helper has looked at (a hint).
    private let nextSlot = Atomic<Int>(0)

    init(directory: DirectoryHandle, follow: Bool, storage: NameStorage, entries: [DirectoryListing.Entry], readAheadLevels: Int) {
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

        let subdirectories = readAheadLevels > 0 ? entries.indices.filter { entries[$0].type == .directory } : []
        self.readAheadLevels = subdirectories.isEmpty ? 0 : readAheadLevels
        slotEntries = subdirectories
        if subdirectories.isEmpty {
            slotOfEntry = nil
            slotStates = nil
            prepared = nil
        } else {
            let map = UnsafeMutablePointer<Int32>.allocate(capacity: count)
            map.initialize(repeating: -1, count: count)
            for (slot, entry) in subdirectories.enumerated() { map[entry] = Int32(slot) }
            slotOfEntry = map
            let slotStates = UnsafeMutablePointer<Atomic<UInt8>>.allocate(capacity: subdirectories.count)
            for slot in subdirectories.indices { (slotStates + slot).initialize(to: Atomic(Self.free)) }
            self.slotStates = slotStates
            let prepared = UnsafeMutablePointer<PreparedDirectory?>.allocate(capacity: subdirectories.count)
            prepared.initialize(repeating: nil, count: subdirectories.count)
            self.prepared = prepared
        }
    }

    deinit {
        offsets.deallocate()
        results.deallocate()
        states.deinitialize(count: chunks)
        states.deallocate()
        slotOfEntry?.deallocate()
        slotStates?.deinitialize(count: slotEntries.count)
        slotStates?.deallocate()
        prepared?.deinitialize(count: slotEntries.count)
        prepared?.deallocate()
    }

    // MARK: the walking thread

    /// Entry `index`'s outcome: a done chunk's, or the chunk's stat'ed now when it is free.
    /// Nil when a helper is still on it or it was cancelled: the caller stats the entry itself.
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

    /// The directory a helper prepared for entry `index`, now the caller's (its descriptor
    /// included); nil when there is none, and then no helper will prepare it. Moves the
    /// read-ahead window past the entry.
    func take(_ index: Int) -> PreparedDirectory? {
        guard let slotOfEntry, let slotStates, let prepared else { return nil }
        let slot = Int(slotOfEntry[index])
        guard slot >= 0 else { return nil }
        if walkerSlot.load(ordering: .relaxed) <= slot { walkerSlot.store(slot + 1, ordering: .relaxed) }
        var state = slotStates[slot].load(ordering: .acquiring)
        while state == Self.free || state == Self.claimed {
            let swap = slotStates[slot].compareExchange(expected: state, desired: Self.cancelled, ordering: .acquiringAndReleasing)
            if swap.exchanged { return nil }
            state = swap.original
        }
        guard state == Self.done else { return nil }
        slotStates[slot].store(Self.taken, ordering: .relaxed)
        let directory = prepared[slot]
        prepared[slot] = nil
        return directory
    }

    /// Cancels every chunk and slot not done, without waiting, and hands back the prepared
    /// directories nobody took (for the caller to release). After this no result a helper
    /// finds is used, so `directory` may be closed: a helper still on a chunk or slot may then
    /// use whatever the descriptor's number comes to name, for reads whose results are dropped.
    /// Chunks done before stay usable.
    func cancel() -> [PreparedDirectory] {
        for chunk in 0..<chunks { Self.cancel(states + chunk) }
        freeBelow.store(0, ordering: .relaxed)
        guard let slotStates, let prepared else { return [] }
        var untaken: [PreparedDirectory] = []
        for slot in slotEntries.indices {
            if Self.cancel(slotStates + slot) == Self.done {
                slotStates[slot].store(Self.taken, ordering: .relaxed)
                if let directory = prepared[slot] { untaken.append(directory) }
                prepared[slot] = nil
            }
        }
        walkerSlot.store(slotEntries.count, ordering: .relaxed)
        return untaken
    }

    /// Moves a free or claimed state to cancelled; returns the state it ends in.
    @discardableResult
    private static func cancel(_ state: UnsafeMutablePointer<Atomic<UInt8>>) -> UInt8 {
        var current = state.pointee.load(ordering: .acquiring)
        while current == free || current == claimed {
            let swap = state.pointee.compareExchange(expected: current, desired: cancelled, ordering: .acquiringAndReleasing)
            if swap.exchanged { return cancelled }
            current = swap.original
        }
        return current
    }

    // MARK: helpers

    /// Whether a helper may find a free chunk here.
    var mayHaveFreeChunks: Bool { freeBelow.load(ordering: .relaxed) > 0 }

    /// Whether a helper may find a free slot here now or later (read-ahead).
    var mayHaveFreeSlots: Bool {
        readAheadLevels > 0 && max(nextSlot.load(ordering: .relaxed), walkerSlot.load(ordering: .relaxed)) < slotEntries.count
    }

    /// Whether a slot is free within the read-ahead window now.
    var hasSlotInWindow: Bool {
        guard readAheadLevels > 0 else { return false }
        let walker = walkerSlot.load(ordering: .relaxed)
        return max(nextSlot.load(ordering: .relaxed), walker) < min(slotEntries.count, walker + StatAhead.window)
    }

    /// Claims the last free chunk and stats it. False when none is free. Helpers work from
    /// the end while the walking thread goes from the start, so the two meet once, in the
    /// middle, instead of the walker finding every next chunk taken.
    func statOnce() -> Bool {
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

    /// Claims the first free slot in the window: its entry's name, or nil when none is free.
    func claimSlot() -> (slot: Int, name: UnsafePointer<CChar>)? {
        guard let slotStates else { return nil }
        let walker = walkerSlot.load(ordering: .relaxed)
        var slot = max(nextSlot.load(ordering: .relaxed), walker)
        let end = min(slotEntries.count, walker + StatAhead.window)
        while slot < end {
            if slotStates[slot].load(ordering: .relaxed) == Self.free,
               slotStates[slot].compareExchange(expected: Self.free, desired: Self.claimed, ordering: .acquiring).exchanged {
                nextSlot.store(slot + 1, ordering: .relaxed)
                let name = (names + Int(offsets[slotEntries[slot]])).assumingMemoryBound(to: CChar.self)
                return (slot, name)
            }
            slot += 1
        }
        return nil
    }

    /// Publishes a claimed slot's directory (nil: it could not be opened, the walking thread
    /// will open it itself). False when the walking thread cancelled the slot meanwhile: the
    /// directory stays the caller's, to release.
    func complete(_ slot: Int, _ directory: PreparedDirectory?) -> Bool {
        guard let slotStates, let prepared else { return false }
        guard let directory else {
            _ = slotStates[slot].compareExchange(expected: Self.claimed, desired: Self.cancelled, ordering: .relaxed)
            return false
        }
        prepared[slot] = directory
        if slotStates[slot].compareExchange(expected: Self.claimed, desired: Self.done, ordering: .releasing).exchanged { return true }
        prepared[slot] = nil
        return false
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

/// Stat-ahead threads. The walking thread hands every directory whose entries it will stat to
/// the helpers as a `StatJob` when it reads the directory, and goes on; the helpers stat chunks
/// of the newest job first (the directory the walk is in), then of older ones (the rest of the
/// directories above it, which the walk comes back to). With read-ahead (one instance, links
/// not followed, no excludes) they also open and read the next subdirectories of a job, which
/// become jobs of their own: newest first, that is the walk's own order, at most
/// `maxPrepared` directories ahead. The walking thread does whatever it gets to first itself
/// and emits the records in order, as before.
///
/// Idle helpers spin briefly on `published` (wake-ups cost tens of microseconds on a virtual
/// machine), then sleep on a condition variable. All pthread code of the walker is in this file.
final class StatAhead: @unchecked Sendable {
    /// Entries per chunk: a few microseconds of `fstatat` calls, so the walking thread and a
    /// helper share even a small directory, and a claim costs little against the calls.
    static let chunkSize = 8
    /// Subdirectories of one directory read ahead of the walking thread.
    static let window = 4
    /// Directories read ahead and not yet taken (each holds a descriptor), at most.
    static let maxPrepared = 16
    /// Spins (PAUSE) of an idle helper before it sleeps: a few microseconds. Longer spins cost
    /// the supervisor and the walking thread CPU time on a small machine, for no gain.
    static let idleSpins = 200

    /// How many helper threads there are (the walking thread works too).
    let helpers: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Jobs that may have work for a helper, oldest first. Under `mutex`.
    private var jobs: [StatJob] = []
    /// Helpers asleep on `wake` (changed under `mutex`; read without it by `take`).
    private let sleepers = Atomic<Int>(0)
    /// Bumped by every `add` and `take`, so a spinning helper sees new work without the lock.
    private let published = Atomic<Int>(0)
    /// Directories read ahead (or being read) and not yet taken or released.
    private let outstanding = Atomic<Int>(0)

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

    // MARK: the walking thread

    /// Hands `job` to the helpers.
    func add(_ job: StatJob) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        _ = published.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_signal(wake) }
        pthread_mutex_unlock(mutex)
    }

    /// The directory prepared for entry `index` of `job`, now the caller's; nil: open it yourself.
    func take(_ job: StatJob, entry index: Int) -> PreparedDirectory? {
        guard job.readAheadLevels > 0 else { return nil }
        let directory = job.take(index)
        let left = directory == nil ? outstanding.load(ordering: .relaxed) : outstanding.subtract(1, ordering: .relaxed).newValue
        // The window moved: there may be a slot to read ahead now. A sleeping helper is woken
        // (on this CPU, often, so it costs the walk a switch) only once there is room for a few.
        _ = published.add(1, ordering: .sequentiallyConsistent)
        if left <= Self.maxPrepared / 2 && sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_signal(wake)
            pthread_mutex_unlock(mutex)
        }
        return directory
    }

    /// Takes `job` back before its directory is closed: no result a helper finds for it is
    /// used after this. Its prepared subdirectories nobody took are released.
    func finish(_ job: StatJob) {
        pthread_mutex_lock(mutex)
        if let index = jobs.lastIndex(where: { $0 === job }) { jobs.remove(at: index) }
        pthread_mutex_unlock(mutex)
        for directory in job.cancel() { release(directory) }
    }

    /// Closes a prepared directory taken but not used (or never taken), after its own job.
    func release(_ directory: PreparedDirectory) {
        if let job = directory.listing.statJob { finish(job) }
        WalkSystem.close(directory.handle)
        _ = outstanding.subtract(1, ordering: .relaxed)
    }

    /// Closes a directory taken with `take` that the walking thread does not descend after all.
    func discard(_ directory: PreparedDirectory) {
        _ = outstanding.add(1, ordering: .relaxed)
        release(directory)
    }

    // MARK: helpers

    private enum Work {
        case stat(StatJob)
        case read(StatJob)
    }

    private func helperLoop() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
        while true {
            let seen = published.load(ordering: .relaxed)
            switch nextWork() {
            case .stat(let job):
                _ = job.statOnce()
                continue
            case .read(let job):
                readAhead(job, buffer)
                continue
            case nil:
                break
            }
            // Nothing to do: spin a little for new work, then sleep until there is some.
            var spins = 0
            while spins < Self.idleSpins && published.load(ordering: .relaxed) == seen {
                cshim_cpu_relax()
                spins += 1
            }
            // `sleepers` before `published`, and `take` the other way round (both sequentially
            // consistent): either this sees the new work or `take` sees a sleeper and signals.
            pthread_mutex_lock(mutex)
            _ = sleepers.add(1, ordering: .sequentiallyConsistent)
            while published.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
            _ = sleepers.subtract(1, ordering: .sequentiallyConsistent)
            pthread_mutex_unlock(mutex)
        }
    }

    /// The newest job with a free chunk, or a slot to read ahead; drops the jobs with neither
    /// now nor later.
    private func nextWork() -> Work? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var index = jobs.count - 1
        while index >= 0 {
            let job = jobs[index]
            if job.mayHaveFreeChunks { return .stat(job) }
            if job.hasSlotInWindow && outstanding.load(ordering: .relaxed) < Self.maxPrepared { return .read(job) }
            if !job.mayHaveFreeSlots { jobs.remove(at: index) }
            index -= 1
        }
        return nil
    }

    /// Opens and reads the next subdirectory of `job` in its window, and hands it to the helpers
    /// as a job of its own.
    private func readAhead(_ job: StatJob, _ buffer: UnsafeMutableRawBufferPointer) {
        guard let (slot, name) = job.claimSlot() else { return }
        _ = outstanding.add(1, ordering: .relaxed)
        guard let handle = try? WalkSystem.openDirectory(in: job.directory, name, follow: false) else {
            _ = job.complete(slot, nil)
            _ = outstanding.subtract(1, ordering: .relaxed)
            return
        }
        let (listing, readError) = DirectoryListing.read(handle, buffer: buffer)
        listing.startStats(in: handle, follow: false, pool: self, readAheadLevels: job.readAheadLevels - 1)
        let directory = PreparedDirectory(handle: handle, listing: listing, readError: readError)
        if !job.complete(slot, directory) { release(directory) }
    }

    /// The default number of helpers: the CPUs this process may use, shared by the pool's
    /// instances, less the walking thread; at most 3 (the disk, not the CPU, is the limit after that).
    static func defaultHelpers(instances: Int) -> Int {
        max(0, min(3, WalkSystem.allowedCPUs() / max(1, instances) - 1))
    }
}
