import SystemKit

/// Bytes that stay where they are: the names of one listing, each followed by a NUL, so the
/// walker can hand a name to `fstatat`/`openat` without copying it or nesting closures.
final class NameStorage {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    /// Appends `bytes` and a NUL; returns where `bytes` start.
    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let offset = count
        if count + bytes.count + 1 > capacity {
            let grown = max(capacity * 2, count + bytes.count + 1)
            let moved = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 1)
            moved.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = moved
            capacity = grown
        }
        if let source = bytes.baseAddress, bytes.count > 0 { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        base.storeBytes(of: 0, toByteOffset: count + bytes.count, as: UInt8.self)
        count += bytes.count + 1
        return offset
    }
}

/// One directory's entries (without `.` and `..`), read with `getdents64` and sorted bytewise by
/// name, so a walk is deterministic and a resume point can be found by binary search.
///
/// Names live in one byte buffer, each followed by a NUL so it can go to `fstatat`/`openat` as is:
/// a directory of 100,000 entries costs two arrays, not 100,000 strings. A class: frames and the
/// stat-ahead threads share one listing without copying it; it does not change after `read`.
final class DirectoryListing {
    /// One entry: where its name is, how long it is, and what `getdents64` said about it.
    struct Entry {
        var offset: UInt32
        var length: UInt32
        var inode: UInt64
        var type: EntryType
    }

    /// The names, each NUL-terminated.
    private let names = NameStorage()
    /// The entries, sorted by name once `sort()` ran.
    private(set) var entries: [Entry] = []

    /// How many entries there are.
    var count: Int { entries.count }

    /// The entries' `fstatat` calls, when handed to `StatAhead` (else nil: stat one by one).
    private(set) var statJob: StatJob? = nil

    /// An empty listing (a directory that could not be read).
    init() {}

    /// Reads every entry of `handle` through `buffer`. A failing read keeps what was read before
    /// it and returns the error beside the listing. The result is sorted.
    static func read(_ handle: DirectoryHandle, buffer: UnsafeMutableRawBufferPointer) -> (DirectoryListing, Errno?) {
        let listing = DirectoryListing()
        var failure: Errno? = nil
        while true {
            let got: Int
            do { got = try WalkSystem.readEntries(handle, into: buffer) } catch {
                failure = error
                break
            }
            if got == 0 { break }
            listing.append(records: UnsafeRawBufferPointer(rebasing: buffer[..<got]))
        }
        listing.sort()
        return (listing, failure)
    }

    /// Parses raw `linux_dirent64` records: d_ino u64 @0, d_off s64 @8, d_reclen u16 @16,
    /// d_type u8 @18, d_name NUL-terminated @19. The kernel wrote them, but a length that does
    /// not add up ends the parse rather than reading past the buffer.
    private func append(records: UnsafeRawBufferPointer) {
        var position = 0
        while position + 19 < records.count {
            let recordLength = Int(records.loadUnaligned(fromByteOffset: position + 16, as: UInt16.self))
            guard recordLength >= 20, position + recordLength <= records.count else { return }
            let nameStart = position + 19
            var nameEnd = nameStart
            while nameEnd < position + recordLength && records[nameEnd] != 0 { nameEnd += 1 }
            let name = UnsafeRawBufferPointer(rebasing: records[nameStart..<nameEnd])
            let isDot = name.count == 1 && name[0] == 0x2E
            let isDotDot = name.count == 2 && name[0] == 0x2E && name[1] == 0x2E
            if !name.isEmpty && !isDot && !isDotDot {
                let offset = names.append(name)
                entries.append(Entry(offset: UInt32(offset), length: UInt32(name.count),
                                     inode: records.loadUnaligned(fromByteOffset: position, as: UInt64.self),
                                     type: EntryType(directoryEntryType: records[position + 18])))
            }
            position += recordLength
        }
    }

    /// Sorts the entries bytewise by name (a shorter name before a longer one it begins).
    private func sort() {
        let base = UnsafeRawPointer(names.base)
        entries.sort { a, b in
            DirectoryListing.compare(UnsafeRawBufferPointer(start: base + Int(a.offset), count: Int(a.length)),
                                     UnsafeRawBufferPointer(start: base + Int(b.offset), count: Int(b.length))) < 0
        }
    }

    /// Bytewise three-way comparison: negative, zero or positive.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let order = WalkSystem.compareBytes(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }

    /// Hands every entry's `fstatat`, relative to `handle`, to `pool`: its helpers start on them
    /// in the background; `statJob.outcome(index)` gives each, stat'ing it then if need be.
    /// With `readAheadLevels` > 0 the helpers also open and read the next subdirectories, and
    /// theirs, down to that many levels (`pool.take`). `pool.finish(statJob)` must come before
    /// `handle` is closed.
    func startStats(in handle: DirectoryHandle, follow: Bool, pool: StatAhead, readAheadLevels: Int) {
        guard statJob == nil, !entries.isEmpty else { return }
        let job = StatJob(directory: handle, follow: follow, storage: names, entries: entries, readAheadLevels: readAheadLevels)
        statJob = job
        pool.add(job)
    }

    /// The index of the first entry whose name is not below `name` (`count` when there is none).
    func lowerBound(_ name: [UInt8]) -> Int {
        name.withUnsafeBytes { target in
            var low = 0
            var high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if DirectoryListing.compare(self.name(at: middle), target) < 0 { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    /// Whether entry `index` is named exactly `name`.
    func name(at index: Int, equals name: [UInt8]) -> Bool {
        name.withUnsafeBytes { DirectoryListing.compare(self.name(at: index), $0) == 0 }
    }

    /// Entry `index`'s name; valid while this listing lives (the frame that holds it).
    @inline(__always)
    func name(at index: Int) -> UnsafeRawBufferPointer {
        let entry = entries[index]
        return UnsafeRawBufferPointer(start: names.base + Int(entry.offset), count: Int(entry.length))
    }

    /// Entry `index`'s name as a NUL-terminated C string; valid while this listing lives.
    @inline(__always)
    func cName(at index: Int) -> UnsafePointer<CChar> {
        UnsafePointer((names.base + Int(entries[index].offset)).assumingMemoryBound(to: CChar.self))
    }
}
