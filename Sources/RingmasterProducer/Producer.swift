import CShim
import Glibc
import RingChannel

/// A producer's connection to its supervisor: the ring, the notifiers and its identity.
///
/// ```swift
/// var producer = try Producer.attach()
/// try producer.send(bytes: Array("hello".utf8))
/// try producer.finish()
/// ```
/// `send` copies; `reserve`/`commit` fill the ring in place; `batch { }` publishes once for many
/// small records. A full ring blocks (backpressure). If the supervisor dies, the process exits
/// with status 75 (the lifeline), whether it is blocked, busy or idle.
public struct Producer: ~Copyable {
    /// The ring writer, for direct use (e.g. `producer.writer.reserve`).
    public var writer: RingWriter
    /// The segment (kept open for the producer's life).
    public let segment: Segment
    /// Worker name, as in the manifest.
    public let worker: String
    /// This instance's index in its pool (0-based).
    public let instance: Int
    /// The pool's size.
    public let instances: Int
    /// How many times this instance was restarted.
    public let generation: UInt64
    /// Where to resume after a restart, nil on a first start.
    public let resume: ResumePoint?

    /// Attaches to the segment and notifiers named by the environment contract, starts the
    /// lifeline watch, and announces this process in the header.
    public static func attach() throws(ProducerAttachError) -> Producer {
        try attach(environment: ProcessEnvironment.current())
    }

    /// Attaches with explicit environment variables (for tests and embedding).
    public static func attach(environment variables: [String: String]) throws(ProducerAttachError) -> Producer {
        let env = try ProducerEnvironment.parse(variables)
        let segment: Segment
        do {
            switch env.segment {
            case .descriptor(let fd): segment = try Segment.attach(descriptor: FileDescriptor(rawValue: fd))
            case .posixName(let name): segment = try Segment.attach(posixName: name)
            }
        } catch { throw .segment(error) }
        let notifiers: NotifierPair
        do {
            switch env.notify {
            case .eventfds(let d, let s):
                notifiers = NotifierPair(dataReady: EventFD(adopting: FileDescriptor(rawValue: d)),
                                         spaceFree: EventFD(adopting: FileDescriptor(rawValue: s)))
            case .semaphores(let d, let s):
                notifiers = NotifierPair(dataReady: try NamedSemaphore(attaching: d), spaceFree: try NamedSemaphore(attaching: s))
            }
        } catch { throw .notifier(error) }
        if let lifeline = env.lifeline { Lifeline.watch(lifeline) }
        let writer = RingWriter(segment: segment, notifiers: notifiers)
        writer.announce(pid: UInt32(getpid()))
        return Producer(writer: writer, segment: segment, worker: env.worker, instance: env.instance,
                        instances: env.instances, generation: env.generation, resume: env.resume)
    }

    /// The largest payload the ring takes.
    public var maxRecordLength: Int { writer.maxRecordLength }

    /// Sends one record (a copy of `bytes`). Blocks while the ring is full.
    public mutating func send(type: RecordType = .data, bytes: [UInt8]) throws(RingWriteError) {
        try writer.send(type: type, bytes: bytes)
    }

    /// Sends one record (a copy of `bytes`). Blocks while the ring is full.
    public mutating func send(type: RecordType = .data, bytes: UnsafeRawBufferPointer) throws(RingWriteError) {
        try writer.send(type: type, bytes: bytes)
    }

    /// Reserves `length` payload bytes in the ring; fill them, then `commit(length:)` or `abort()`.
    public mutating func reserve(_ length: Int, type: RecordType = .data) throws(RingWriteError) -> UnsafeMutableRawBufferPointer {
        try writer.reserve(length, type: type)
    }

    /// Commits the open reservation (optionally shorter than reserved).
    public mutating func commit(length: Int? = nil) throws(RingWriteError) {
        try writer.commit(length: length)
    }

    /// Drops the open reservation.
    public mutating func abort() { writer.abort() }

    /// Publishes once for all records committed inside `body`.
    public mutating func batch<R, E: Error>(_ body: (inout RingWriter) throws(E) -> R) throws(E) -> R {
        try writer.batch(body)
    }

    /// Commits a checkpoint: "everything before this is done; to resume, start from `token`".
    /// On a restart the supervisor hands the last delivered token back in `resume`.
    public mutating func checkpoint(_ token: [UInt8]) throws(RingWriteError) {
        try writer.sendReserved(.checkpoint, bytes: token)
    }

    /// Commits a heartbeat (keeps a quiet producer from counting as stalled) and stamps the header.
    public mutating func heartbeat() throws(RingWriteError) {
        writer.stampHeartbeat()
        try writer.sendReserved(.heartbeat, bytes: [])
    }

    /// Commits a log line for the supervisor's log; a line longer than max record is cut at a
    /// character boundary, so the record is always valid UTF-8.
    public mutating func log(_ line: String) throws(RingWriteError) {
        var bytes: [UInt8] = []
        for scalar in line.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if bytes.count + encoded.count > writer.maxRecordLength { break }
            bytes += encoded
        }
        try writer.sendReserved(.logLine, bytes: bytes)
    }

    /// Commits the end-of-stream record and publishes. Nothing may be sent after it; exit 0 next.
    public mutating func finish() throws(RingWriteError) {
        try writer.sendReserved(.endOfStream, bytes: [])
        writer.publish()
    }
}
