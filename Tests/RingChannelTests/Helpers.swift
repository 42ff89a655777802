import CShim
import Glibc
import RingChannel
import RingmasterTestSupport
import Synchronization

// Shared by the channel tests: a seeded random source, raw access to a segment's bytes (the
// hostile writer's view), a spawn lock that keeps test pipes out of unrelated children, and a
// session that runs the test producer while this process reads.

/// SplitMix64 as a `RandomNumberGenerator`: seeded, so a failing run can be replayed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return TestRecord.splitmix(state &- 0x9E37_79B9_7F4A_7C15)
    }
    /// A value in `0..<bound` (bound > 0).
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
    /// A value in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    /// True with probability `numerator / denominator`.
    mutating func chance(_ numerator: UInt64, in denominator: UInt64) -> Bool { below(denominator) < numerator }
}

/// The bytes of a segment as a writer that ignores the protocol sees them.
struct RawSegment {
    let base: UnsafeMutableRawPointer
    let capacity: UInt64

    init(_ segment: Segment) {
        base = segment.region.base
        capacity = segment.geometry.capacity
    }

    func load64(_ offset: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    func load32(_ offset: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func load16(_ offset: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(UnsafeRawBufferPointer(start: base + offset, count: count)) }

    func store64(_ value: UInt64, _ offset: Int) { base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    func store32(_ value: UInt32, _ offset: Int) { base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    func store16(_ value: UInt16, _ offset: Int) { base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self) }

    var tail: UInt64 {
        get { load64(SegmentLayout.tailOffset) }
        nonmutating set { store64(newValue, SegmentLayout.tailOffset) }
    }
    var head: UInt64 {
        get { load64(SegmentLayout.headOffset) }
        nonmutating set { store64(newValue, SegmentLayout.headOffset) }
    }

    /// Segment offset of ring position `position`.
    func offset(of position: UInt64) -> Int { SegmentLayout.dataOffset + Int(position % capacity) }

    /// Writes a record header at `position` (no checks at all).
    func writeHeader(at position: UInt64, length: UInt32, type: UInt16, flags: UInt16 = 0) {
        let at = offset(of: position)
        store32(length, at)
        store16(type, at + 4)
        store16(flags, at + 6)
    }
}

/// Serialises spawning with the creation of inheritable descriptors: a pipe is made and marked
/// close-on-exec under this lock, so no child started by a concurrent test inherits its write end.
let spawnLock = Mutex<Void>(())

/// `SpawnedProcess.spawn` under `spawnLock`.
func spawnChild(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                inherited: [Channel.Inherited] = []) throws -> SpawnedProcess {
    try spawnLock.withLock { _ throws -> SpawnedProcess in
        try SpawnedProcess.spawn(path, arguments, environment: environment, inherited: inherited)
    }
}

/// A close-on-exec pipe; the caller closes both ends.
func makePipe() -> (read: FileDescriptor, write: FileDescriptor) {
    spawnLock.withLock { _ in
        var fds: [CInt] = [-1, -1]
        precondition(cshim_pipe_cloexec(&fds) == 0, "pipe2: \(Errno.current)")
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }
}

/// Reads `fd` to end of file.
func readAll(_ fd: FileDescriptor) -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd.rawValue, &buffer, buffer.count)
        if n > 0 { result += buffer.prefix(n); continue }
        if n == -1 && errno == EINTR { continue }
        return result
    }
}

/// Sleeps `milliseconds`.
func nap(milliseconds: Int) { usleep(UInt32(milliseconds * 1000)) }

/// Polls `condition` every 5 ms, at most `attempts` times; true as soon as it holds.
/// A bound on how long to wait for something, never an assertion about speed.
func eventually(attempts: Int = 2000, _ condition: () -> Bool) -> Bool {
    for _ in 0..<attempts {
        if condition() { return true }
        nap(milliseconds: 5)
    }
    return condition()
}

/// One record as the reader saw it, in order.
enum ReadEvent: Equatable {
    case data(UInt64)
    case checkpoint(String)
    case corrupt
    case endOfStream
}

/// The test producer running on a fresh channel, and this process reading from it.
struct ProducerSession: ~Copyable {
    let channel: Channel
    let child: SpawnedProcess
    var reader: RingReader
    var outcome = ReadOutcome()
    var events: [ReadEvent] = []

    init(kind: ChannelKind, geometry: RingGeometry, arguments: [String],
         environment: [String: String] = [:], extraInherited: [Channel.Inherited] = []) throws {
        let channel = try Channel.create(kind: kind, label: "session.0", geometry: geometry)
        let contract = channel.childContract()
        let child = try spawnChild(testProducerPath, arguments,
                                   environment: contract.environment.merging(environment) { $1 },
                                   inherited: contract.inherited + extraInherited)
        self.channel = channel
        self.child = child
        reader = channel.makeReader()
    }

    /// Parses and releases what is committed; true when it consumed any ring bytes.
    mutating func drainOnce() -> Bool {
        guard outcome.violation == nil else { return false }
        // Move the results out so appending does not copy them (the reader borrows `self`).
        var outcome = self.outcome
        var events = self.events
        self.outcome = ReadOutcome()
        self.events = []
        defer {
            self.outcome = outcome
            self.events = events
        }
        do {
            let summary = try reader.drain { record in
                switch record.type {
                case .checkpoint:
                    let token = String(decoding: record.payload, as: UTF8.self)
                    outcome.checkpoints.append(token)
                    events.append(.checkpoint(token))
                case .endOfStream:
                    outcome.sawEndOfStream = true
                    events.append(.endOfStream)
                case .data:
                    if let sequence = TestRecord.verify(record.payload) {
                        outcome.sequences.append(sequence)
                        events.append(.data(sequence))
                    } else {
                        outcome.corrupt += 1
                        events.append(.corrupt)
                    }
                default: break
                }
            }
            reader.release(through: summary.end)
            return summary.bytes > 0
        } catch {
            outcome.violation = error
            return false
        }
    }

    /// Drains until at least `count` data records arrived or the child ended; true when they did.
    mutating func read(atLeast count: Int) throws -> Bool {
        while outcome.sequences.count < count {
            if drainOnce() { continue }
            if outcome.violation != nil || child.poll() != nil { return outcome.sequences.count >= count }
            _ = try reader.waitForData(timeoutNanoseconds: 20_000_000)
        }
        return true
    }

    /// Reads until the child exits, then drains what it committed.
    mutating func readUntilExit() throws -> ExitStatus {
        var status: ExitStatus?
        while status == nil {
            if drainOnce() { continue }
            if outcome.violation != nil { child.kill(SIGKILL) }
            status = child.poll()
            if status == nil { _ = try reader.waitForData(timeoutNanoseconds: 20_000_000) }
        }
        while drainOnce() {}
        return status!
    }
}

/// The environment a producer in this process uses to attach to `channel` (a memfd channel):
/// close-on-exec duplicates of the segment and eventfd descriptors. `attach` takes ownership of
/// them; when it fails, the caller closes `notifierDescriptors` (the segment's is closed for it).
struct InProcessEnvironment {
    var variables: [String: String]
    var notifierDescriptors: [CInt]

    func closeNotifiers() { for fd in notifierDescriptors { close(fd) } }
}

func inProcessEnvironment(for channel: Channel) throws -> InProcessEnvironment {
    guard let data = channel.notifiers.dataReady as? EventFD, let space = channel.notifiers.spaceFree as? EventFD else {
        throw SystemError("inProcessEnvironment", "needs a memfd channel with eventfds")
    }
    func duplicate(_ fd: FileDescriptor) throws -> CInt {
        let copy = fcntl(fd.rawValue, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw SystemError("fcntl(F_DUPFD_CLOEXEC)", "\(fd)") }
        return copy
    }
    let segment = try duplicate(channel.segment.descriptor)
    let d = try duplicate(data.descriptor)
    let s = try duplicate(space.descriptor)
    return InProcessEnvironment(variables: ["RINGMASTER_SEGMENT": "fd:\(segment)", "RINGMASTER_NOTIFY": "eventfd:\(d),\(s)"],
                                notifierDescriptors: [d, s])
}

/// `reserve` with a zero timeout: nil when the ring has no room now (instead of blocking).
func reserveIfRoom(_ writer: inout RingWriter, _ length: Int, type: RecordType = .data) throws(RingWriteError) -> UnsafeMutableRawBufferPointer? {
    do throws(RingWriteError) {
        return try writer.reserve(length, type: type, timeoutNanoseconds: 0)
    } catch {
        if error == .timedOut { return nil }
        throw error
    }
}
