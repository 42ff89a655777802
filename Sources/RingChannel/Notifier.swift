import CShim
import Glibc

/// One direction of wake-ups between the two sides of a ring ("data ready" or "space free").
///
/// The ring's sleep protocol decides *when* to signal: only after the other side announced it
/// sleeps. A signal that finds the other side already awake is harmless.
public protocol WakeSignal: AnyObject, Sendable {
    /// Wakes the other side. Never blocks.
    func signal() throws(SystemError)
    /// Sleeps until signalled or until `timeoutNanoseconds` pass (nil: no limit).
    /// Returns false on timeout. A spurious `true` is allowed; callers re-check the ring.
    func wait(timeoutNanoseconds: Int64?) throws(SystemError) -> Bool
}

/// A wake signal over an eventfd: the counter carries the "wake up", `poll` waits for it.
public final class EventFD: WakeSignal, @unchecked Sendable {
    /// The eventfd's descriptor.
    public let descriptor: FileDescriptor
    private let owned: Bool

    /// Creates a non-blocking, close-on-exec eventfd with a zero counter.
    /// The corresponding C function is `eventfd`.
    public init() throws(SystemError) {
        let raw = cshim_eventfd(0, 1, 1)
        guard raw >= 0 else { throw SystemError("eventfd") }
        descriptor = FileDescriptor(rawValue: raw)
        owned = true
    }

    /// Adopts an inherited eventfd (the producer side); it is closed when this object goes.
    public init(adopting descriptor: FileDescriptor) {
        self.descriptor = descriptor
        owned = true
    }

    deinit { if owned { descriptor.close() } }

    /// Adds one to the counter. A full counter (EAGAIN) already means "wake up", so it is not an error.
    ///
    /// O_NONBLOCK lives in the open file description the child shares, so a hostile child can
    /// clear it and then fill the counter to make this write block. So the flag is put back
    /// before every write, and the write itself is bounded: if it still blocks (the child cleared
    /// the flag again in between), it is interrupted after 10 ms and this throws EINTR, which
    /// only a tampering child can cause.
    public func signal() throws(SystemError) {
        let flags = fcntl(descriptor.rawValue, F_GETFL)
        if flags >= 0 && flags & O_NONBLOCK == 0 {
            _ = fcntl(descriptor.rawValue, F_SETFL, flags | O_NONBLOCK)
        }
        var one: UInt64 = 1
        while true {
            let n = cshim_write_bounded(descriptor.rawValue, &one, 8, 10_000_000)
            if n == 8 { return }
            let error = Errno.current
            if error == .wouldBlock { return }
            throw SystemError("write(eventfd)", "\(descriptor.rawValue)", errno: error)
        }
    }

    /// Polls for a non-zero counter, then consumes it without ever blocking (RWF_NOWAIT).
    public func wait(timeoutNanoseconds: Int64?) throws(SystemError) -> Bool {
        if try consume() { return true }
        var entry = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        let milliseconds: Int32 = timeoutNanoseconds.map { Int32(clamping: ($0 + 999_999) / 1_000_000) } ?? -1
        let n = poll(&entry, 1, milliseconds)
        if n == -1 {
            if Errno.current == .interrupted { return true }
            throw SystemError("poll(eventfd)", "\(descriptor.rawValue)")
        }
        if n == 0 { return false }
        _ = try consume()
        return true
    }

    /// Resets the counter to zero; true when it was non-zero.
    @discardableResult
    public func consume() throws(SystemError) -> Bool {
        var value: UInt64 = 0
        let status = cshim_eventfd_read_nowait(descriptor.rawValue, &value)
        if status < 0 { throw SystemError("preadv2(eventfd)", "\(descriptor.rawValue)") }
        return status == 1
    }
}

/// A wake signal over a named POSIX semaphore (`sem_open`, mode 0600), for the `posix` kind.
public final class NamedSemaphore: WakeSignal, @unchecked Sendable {
    /// The semaphore's name, e.g. `/ringmaster.4242.9f….data`.
    public let name: String
    private let semaphore: UnsafeMutablePointer<sem_t>
    private let ownsName: Bool

    /// Creates a new semaphore with value 0 (`O_CREAT|O_EXCL`, 0600). The creator unlinks it.
    public init(creating name: String) throws(SystemError) {
        guard let semaphore = cshim_sem_create(name, 0o600, 0) else { throw SystemError("sem_open", name) }
        self.name = name
        self.semaphore = semaphore
        ownsName = true
    }

    /// Opens an existing semaphore by name (the producer side).
    public init(attaching name: String) throws(SystemError) {
        guard let semaphore = cshim_sem_attach(name) else { throw SystemError("sem_open", name) }
        self.name = name
        self.semaphore = semaphore
        ownsName = false
    }

    deinit {
        sem_close(semaphore)
        if ownsName { sem_unlink(name) }
    }

    /// Removes the name now (the owner may do so once the child has attached); idempotent.
    public func unlinkName() { if ownsName { sem_unlink(name) } }

    public func signal() throws(SystemError) {
        if sem_post(semaphore) != 0 { throw SystemError("sem_post", name) }
    }

    public func wait(timeoutNanoseconds: Int64?) throws(SystemError) -> Bool {
        while true {
            if cshim_sem_wait_ns(semaphore, timeoutNanoseconds ?? -1) == 0 { return true }
            let error = Errno.current
            if error == .timedOut { return false }
            if error == .interrupted { return true }
            throw SystemError("sem_clockwait", name, errno: error)
        }
    }
}

/// The two wake signals of one ring, as the side holding them sees them.
public struct NotifierPair: Sendable {
    /// Producer → supervisor: records were published while the reader slept.
    public let dataReady: any WakeSignal
    /// Supervisor → producer: space was released while the producer waited.
    public let spaceFree: any WakeSignal

    public init(dataReady: any WakeSignal, spaceFree: any WakeSignal) {
        self.dataReady = dataReady
        self.spaceFree = spaceFree
    }

    /// A fresh eventfd pair (memfd kind).
    public static func makeEventFDs() throws(SystemError) -> NotifierPair {
        NotifierPair(dataReady: try EventFD(), spaceFree: try EventFD())
    }

    /// A fresh pair of named semaphores `<base>.data` and `<base>.space` (posix kind).
    public static func makeSemaphores(baseName: String = PosixNames.makeSegmentName()) throws(SystemError) -> NotifierPair {
        let data = try NamedSemaphore(creating: baseName + ".data")
        let space = try NamedSemaphore(creating: baseName + ".space")
        return NotifierPair(dataReady: data, spaceFree: space)
    }

    /// The `RINGMASTER_NOTIFY` value a child uses to attach, when the descriptors are passed
    /// at the same numbers (`eventfd:D,S`) or by name (`sem:/n.data,/n.space`).
    public func environmentValue(dataReadyFD: CInt? = nil, spaceFreeFD: CInt? = nil) -> String? {
        if let d = dataReady as? EventFD, let s = spaceFree as? EventFD {
            return "eventfd:\(dataReadyFD ?? d.descriptor.rawValue),\(spaceFreeFD ?? s.descriptor.rawValue)"
        }
        if let d = dataReady as? NamedSemaphore, let s = spaceFree as? NamedSemaphore {
            return "sem:\(d.name),\(s.name)"
        }
        return nil
    }
}
