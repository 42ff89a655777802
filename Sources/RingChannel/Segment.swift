import CShim
import Glibc

/// Which kind of shared memory backs a segment.
public enum ChannelKind: String, Sendable, CaseIterable {
    /// An anonymous, sealed `memfd` passed to the child as an inherited descriptor (Linux default).
    case memfd
    /// A POSIX `shm_open` name, mode 0600, unguessable, unlinked by its owner.
    case posix
}

/// Why a segment could not be created.
public enum SegmentCreationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The system refused a call (memfd_create, shm_open, ftruncate, mmap, ...).
    case system(SystemError)
    /// The backing filesystem cannot hold the ring (ENOSPC while reserving the space up front).
    case insufficientSpace(bytes: Int, SystemError)

    public var description: String {
        switch self {
        case .system(let error): "cannot create segment: \(error)"
        case .insufficientSpace(let bytes, let error):
            "cannot reserve \(bytes) bytes for the ring (\(error)); make the ring smaller or free space in /dev/shm"
        }
    }
}

/// Why a producer could not attach to a segment.
public enum SegmentAttachError: Error, Hashable, Sendable, CustomStringConvertible {
    case system(SystemError)
    /// The segment is smaller than a header page.
    case tooSmall(size: Int)
    /// The first 8 bytes are not `RINGMSTR`.
    case badMagic(found: UInt64)
    /// The layout version is not one this SDK speaks.
    case unsupportedVersion(found: UInt32)
    /// A header field breaks the layout's rules.
    case badHeader(field: String, value: UInt64, expected: String)

    public var description: String {
        switch self {
        case .system(let error): "cannot attach to segment: \(error)"
        case .tooSmall(let size): "segment is \(size) bytes, smaller than its 4096-byte header"
        case .badMagic(let found):
            "segment magic is 0x\(String(found, radix: 16)), expected 0x\(String(SegmentLayout.magic, radix: 16)) (\"RINGMSTR\"): not a Ringmaster segment"
        case .unsupportedVersion(let found): "segment layout version \(found) is not supported (this SDK speaks version \(SegmentLayout.version))"
        case .badHeader(let field, let value, let expected): "segment header field \(field) is \(value), expected \(expected)"
        }
    }
}

/// One shared-memory segment: a header page and a ring of records.
///
/// The creator (the supervisor) owns the backing object: it keeps the geometry privately,
/// initialises and resets the header, and for `posix` segments unlinks the name. A producer
/// attaches with `attach(descriptor:)` or `attach(posixName:)`.
public final class Segment: @unchecked Sendable {
    /// The kind of backing memory.
    public let kind: ChannelKind
    /// Ring size, kept privately: for the creator never re-read from shared memory.
    public let geometry: RingGeometry
    /// The descriptor of the backing object (the memfd, or the shm_open descriptor).
    public let descriptor: FileDescriptor
    /// For `posix` segments, the `shm_open` name (e.g. `/ringmaster.4242.9f…`).
    public let posixName: String?
    /// The mapping.
    public let region: SharedRegion
    private let ownsName: Bool
    private var isClosed = false

    private init(kind: ChannelKind, geometry: RingGeometry, descriptor: FileDescriptor,
                 posixName: String?, region: SharedRegion, ownsName: Bool) {
        self.kind = kind
        self.geometry = geometry
        self.descriptor = descriptor
        self.posixName = posixName
        self.region = region
        self.ownsName = ownsName
    }

    deinit { close() }

    /// Unlinks an owned posix name and closes the descriptor; the mapping lives while a reader
    /// or writer still holds the region. Safe to call twice.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if ownsName, let posixName { shm_unlink(posixName) }
        descriptor.close()
    }

    /// Removes the posix name now (the owner may do so once the child has attached); idempotent.
    public func unlinkName() {
        if ownsName, let posixName { shm_unlink(posixName) }
    }

    // MARK: creation (supervisor side)

    /// Creates a sealed memfd segment named `ringmaster:<label>`, reserves its space up front and
    /// writes a fresh header for `generation`.
    ///
    /// The seals (shrink, grow, seal) mean a producer cannot truncate the segment under its
    /// reader. The descriptor is close-on-exec; the spawner passes it to the child explicitly.
    public static func createMemfd(label: String, geometry: RingGeometry, generation: UInt64 = 0) throws(SegmentCreationError) -> Segment {
        let size = SegmentLayout.segmentSize(capacity: geometry.capacity)
        let name = "ringmaster:" + label
        let raw = cshim_memfd_create_sealable(name, 1)
        guard raw >= 0 else { throw .system(SystemError("memfd_create", name)) }
        let fd = FileDescriptor(rawValue: raw)
        do {
            try reserve(fd, size: size, subject: name)
            try valueOrErrno("fcntl(F_ADD_SEALS)", name) {
                cshim_add_seals(raw, CSHIM_SEAL_SHRINK | CSHIM_SEAL_GROW | CSHIM_SEAL_SEAL)
            }
            let region = try SharedRegion(mapping: fd, size: size)
            let segment = Segment(kind: .memfd, geometry: geometry, descriptor: fd, posixName: nil, region: region, ownsName: false)
            segment.reset(generation: generation)
            return segment
        } catch let error as SegmentCreationError {
            fd.close()
            throw error
        } catch {
            fd.close()
            throw .system(error as! SystemError)
        }
    }

    /// Creates a POSIX shared-memory segment with `O_CREAT|O_EXCL`, mode 0600, under an
    /// unguessable name that embeds this process's pid (see `PosixNames`), and writes a header.
    public static func createPosix(geometry: RingGeometry, generation: UInt64 = 0) throws(SegmentCreationError) -> Segment {
        let size = SegmentLayout.segmentSize(capacity: geometry.capacity)
        let name = PosixNames.makeSegmentName()
        let raw = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard raw >= 0 else { throw .system(SystemError("shm_open", name)) }
        let fd = FileDescriptor(rawValue: raw)
        do {
            // umask can only clear bits, but make the mode explicit whatever the umask did.
            try valueOrErrno("fchmod", name) { fchmod(raw, 0o600) }
            try reserve(fd, size: size, subject: name)
            let region = try SharedRegion(mapping: fd, size: size)
            // A posix object cannot be sealed: the worker may truncate it, and reading it would
            // then raise SIGBUS in the supervisor. The guard turns that into zero pages (and so
            // into a header violation and a quarantine) instead of a crash.
            region.guardAgainstTruncation()
            let segment = Segment(kind: .posix, geometry: geometry, descriptor: fd, posixName: name, region: region, ownsName: true)
            segment.reset(generation: generation)
            return segment
        } catch let error as SegmentCreationError {
            shm_unlink(name)
            fd.close()
            throw error
        } catch {
            shm_unlink(name)
            fd.close()
            throw .system(error as! SystemError)
        }
    }

    /// Sizes the object and allocates its pages now, so a full tmpfs fails here and not later
    /// with SIGBUS on first touch.
    private static func reserve(_ fd: FileDescriptor, size: Int, subject: String) throws(SegmentCreationError) {
        do {
            try valueOrErrno("ftruncate", subject) { ftruncate(fd.rawValue, off_t(size)) }
        } catch { throw .system(error) }
        let status = posix_fallocate(fd.rawValue, 0, off_t(size))
        if status == ENOSPC || status == EFBIG {
            throw .insufficientSpace(bytes: size, SystemError("posix_fallocate", subject, errno: Errno(rawValue: status)))
        } else if status != 0 {
            throw .system(SystemError("posix_fallocate", subject, errno: Errno(rawValue: status)))
        }
    }

    /// Writes a fresh header (positions 0, flags clear) for a new child; `version` is stored last,
    /// with release, so a producer that reads version 1 sees every other field.
    ///
    /// Only call this when no process is writing the ring and no reader borrows from it.
    public func reset(generation: UInt64) {
        let r = region
        r.storeRelease32(0, at: SegmentLayout.versionOffset)
        r.store64(SegmentLayout.magic, at: SegmentLayout.magicOffset)
        r.store32(UInt32(SegmentLayout.headerSize), at: SegmentLayout.headerSizeOffset)
        r.store32(UInt32(SegmentLayout.dataOffset), at: SegmentLayout.dataOffsetOffset)
        r.store64(geometry.capacity, at: SegmentLayout.capacityOffset)
        r.store32(geometry.maxRecord, at: SegmentLayout.maxRecordOffset)
        r.store32(0, at: SegmentLayout.flagsOffset)
        r.store64(generation, at: SegmentLayout.generationOffset)
        r.store64(0, at: SegmentLayout.tailOffset)
        r.store64(0, at: SegmentLayout.headOffset)
        r.store32(0, at: SegmentLayout.consumerSleepingOffset)
        r.store32(0, at: SegmentLayout.producerWaitingOffset)
        for offset in stride(from: SegmentLayout.producerPIDOffset, to: SegmentLayout.lastHeartbeatOffset + 8, by: 4) {
            r.store32(0, at: offset)
        }
        r.storeRelease32(SegmentLayout.version, at: SegmentLayout.versionOffset)
    }

    // MARK: attachment (producer side)

    /// Maps an inherited segment descriptor (`RINGMASTER_SEGMENT=fd:N`) and checks its header.
    /// The segment takes ownership of the descriptor.
    public static func attach(descriptor: FileDescriptor) throws(SegmentAttachError) -> Segment {
        try attach(descriptor: descriptor, kind: .memfd, posixName: nil)
    }

    /// Opens and maps a POSIX segment by name (`RINGMASTER_SEGMENT=shm:/name`) and checks its header.
    public static func attach(posixName: String) throws(SegmentAttachError) -> Segment {
        let raw = shm_open(posixName, O_RDWR | O_CLOEXEC, 0)
        guard raw >= 0 else { throw .system(SystemError("shm_open", posixName)) }
        return try attach(descriptor: FileDescriptor(rawValue: raw), kind: .posix, posixName: posixName)
    }

    private static func attach(descriptor fd: FileDescriptor, kind: ChannelKind, posixName: String?) throws(SegmentAttachError) -> Segment {
        do {
            let size = try fd.size()
            guard size >= SegmentLayout.headerSize else { throw SegmentAttachError.tooSmall(size: size) }
            let header = try SharedRegion(mapping: fd, size: SegmentLayout.headerSize)
            let version = header.loadAcquire32(at: SegmentLayout.versionOffset)
            let magic = header.load64(at: SegmentLayout.magicOffset)
            guard magic == SegmentLayout.magic else { throw SegmentAttachError.badMagic(found: magic) }
            guard version == SegmentLayout.version else { throw SegmentAttachError.unsupportedVersion(found: version) }
            let headerSize = header.load32(at: SegmentLayout.headerSizeOffset)
            let dataOffset = header.load32(at: SegmentLayout.dataOffsetOffset)
            let capacity = header.load64(at: SegmentLayout.capacityOffset)
            let maxRecord = header.load32(at: SegmentLayout.maxRecordOffset)
            guard headerSize == UInt32(SegmentLayout.headerSize) else {
                throw SegmentAttachError.badHeader(field: "header size", value: UInt64(headerSize), expected: "4096")
            }
            guard dataOffset == UInt32(SegmentLayout.dataOffset) else {
                throw SegmentAttachError.badHeader(field: "data offset", value: UInt64(dataOffset), expected: "4096")
            }
            let geometry: RingGeometry
            do { geometry = try RingGeometry(capacity: capacity, maxRecord: maxRecord) } catch {
                throw SegmentAttachError.badHeader(field: "capacity/max record", value: capacity, expected: error.message)
            }
            let total = SegmentLayout.segmentSize(capacity: geometry.capacity)
            guard size >= total else {
                throw SegmentAttachError.badHeader(field: "capacity", value: capacity, expected: "at most \(size - SegmentLayout.dataOffset) (the segment's size)")
            }
            let region = try SharedRegion(mapping: fd, size: total)
            return Segment(kind: kind, geometry: geometry, descriptor: fd, posixName: posixName, region: region, ownsName: false)
        } catch let error as SegmentAttachError {
            fd.close()
            throw error
        } catch {
            fd.close()
            throw .system(error as! SystemError)
        }
    }

    // MARK: header fields both sides may read

    /// The backing object was truncated under the creator's mapping (a `posix` segment whose
    /// worker shrank it): the mapping now reads zeros.
    public var truncated: Bool { region.poisoned }

    /// The generation stored in the header.
    public var generation: UInt64 { region.load64(at: SegmentLayout.generationOffset) }
    /// The producer's advisory pid (0 until a producer attached).
    public var producerPID: UInt32 { region.loadAcquire32(at: SegmentLayout.producerPIDOffset) }
    /// The producer's advisory count of committed records.
    public var recordsCommitted: UInt64 { region.loadAcquire64(at: SegmentLayout.recordsCommittedOffset) }
    /// The producer's advisory last heartbeat (CLOCK_MONOTONIC ns).
    public var lastHeartbeat: UInt64 { region.loadAcquire64(at: SegmentLayout.lastHeartbeatOffset) }
    /// Whether the producer announced that it waits for space (`producer_waiting`, read relaxed:
    /// a hint for stall detection, never a reason to signal).
    public var producerWaiting: Bool {
        region.checkBounds(SegmentLayout.producerWaitingOffset, 4)
        return cshim_load_relaxed_u32(region.base + SegmentLayout.producerWaitingOffset) != 0
    }
}
