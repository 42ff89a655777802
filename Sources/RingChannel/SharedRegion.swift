import CShim
import Glibc

/// A shared mapping of a whole segment, unmapped when the last owner lets go.
///
/// This file and the ring's accessors are the only places that touch the shared bytes through
/// raw pointers. Every access is bounds-checked against `size`, which comes from the creator's
/// private geometry (or, for an attaching producer, from `fstat`), never from shared memory.
public final class SharedRegion: @unchecked Sendable {
    /// Start of the mapping.
    public let base: UnsafeMutableRawPointer
    /// Mapped bytes.
    public let size: Int

    /// Maps `size` bytes of `descriptor` read-write and shared. The corresponding C function is `mmap`.
    init(mapping descriptor: FileDescriptor, size: Int) throws(SystemError) {
        let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor.rawValue, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw SystemError("mmap", "\(descriptor), \(size) bytes")
        }
        self.base = pointer
        self.size = size
    }

    /// True while a SIGBUS guard covers this mapping (`guardAgainstTruncation`).
    private var guarded = false

    deinit {
        if guarded { cshim_sigbus_unguard(base) }
        munmap(base, size)
    }

    /// Guards the mapping against a backing object truncated by another process: an access that
    /// would raise SIGBUS reads zero pages instead, and `poisoned` turns true. For mappings whose
    /// object cannot be sealed (`posix` segments). False when no guard slot was free.
    @discardableResult
    func guardAgainstTruncation() -> Bool {
        guarded = cshim_sigbus_guard(base, size) == 0
        return guarded
    }

    /// A fault in the guarded mapping replaced it with zero pages: the object was truncated.
    public var poisoned: Bool { guarded && cshim_sigbus_poisoned(base) != 0 }

    @inline(__always)
    func checkBounds(_ offset: Int, _ width: Int) {
        precondition(offset >= 0 && offset + width <= size, "shared access at \(offset) outside segment of \(size) bytes")
    }

    // Header fields: plain loads and stores for the write-once block, atomics for the rest.

    func load64(at offset: Int) -> UInt64 {
        checkBounds(offset, 8)
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    func load32(at offset: Int) -> UInt32 {
        checkBounds(offset, 4)
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    func store64(_ value: UInt64, at offset: Int) {
        checkBounds(offset, 8)
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
    func store32(_ value: UInt32, at offset: Int) {
        checkBounds(offset, 4)
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
    func loadAcquire32(at offset: Int) -> UInt32 {
        checkBounds(offset, 4)
        return cshim_load_acquire_u32(base + offset)
    }
    func storeRelease32(_ value: UInt32, at offset: Int) {
        checkBounds(offset, 4)
        cshim_store_release_u32(base + offset, value)
    }
    func loadAcquire64(at offset: Int) -> UInt64 {
        checkBounds(offset, 8)
        return cshim_load_acquire_u64(base + offset)
    }
    func storeRelease64(_ value: UInt64, at offset: Int) {
        checkBounds(offset, 8)
        cshim_store_release_u64(base + offset, value)
    }
}
