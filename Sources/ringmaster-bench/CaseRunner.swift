import CShim
import Glibc
import RingChannel
import RingmasterTestSupport

/// One verified run: how many records of `size` bytes moved in how long.
struct Measurement {
    let transport: Transport
    let size: Int
    let records: UInt64
    let seconds: Double

    var recordsPerSecond: Double { Double(records) / seconds }
    /// Payload bytes per second (record headers and padding not counted, for any transport).
    var bytesPerSecond: Double { recordsPerSecond * Double(size) }
}

/// Runs single cases: a producer child and this process as the consumer, or the memcpy ceiling.
struct CaseRunner {
    let options: BenchOptions
    /// CPU for producer children, nil when this process could not be pinned apart from them.
    let childCPU: CInt?
    private let executable = executableDirectory() + "/ringmaster-bench"

    /// One run of `transport` with `size`-byte records; throws when anything fails verification.
    func run(_ transport: Transport, size: Int) throws -> Measurement {
        if transport == .memcpy { return try memcpyCeiling(size: size) }
        // A wedged case (a child that died while this process sleeps in a blocking read) ends the
        // benchmark by SIGALRM instead of hanging `make bench`.
        alarm(UInt32(options.seconds * 10) + 20)
        defer { alarm(0) }

        let control = try makeSocketPair()
        defer { close(control.0) }
        var closeAfterSpawn = [control.1]
        var arguments = ["--role", "producer", "--transport", transport.rawValue, "--size", "\(size)",
                         "--seconds", "\(options.seconds)"]
        if let childCPU { arguments += ["--cpu", "\(childCPU)"] }
        func pass(_ fd: CInt) throws(BenchFailure) -> CInt {
            let copy = try inheritableCopy(fd)
            closeAfterSpawn.append(copy)
            return copy
        }
        arguments += ["--control", "\(try pass(control.1))"]

        let child: SpawnedProcess
        let consume: () throws -> RecordChecker
        switch transport {
        case .ringPerRecord, .ringBatched:
            let geometry = try RingGeometry(capacity: options.ringCapacity, maxRecord: UInt32(options.ringCapacity / 8))
            let channel = try Channel.create(kind: .memfd, label: "bench", geometry: geometry)
            let contract = channel.childContract()
            child = try SpawnedProcess.spawn(executable, arguments, environment: contract.environment, inherited: contract.inherited)
            consume = { try Consumers.ring(channel, size: size, child: child) }
        case .pipePerRecord, .pipeBatched, .unixBatched:
            let (readEnd, writeEnd): (CInt, CInt)
            if transport == .unixBatched { (readEnd, writeEnd) = try makeSocketPair() } else { (readEnd, writeEnd) = try makePipe() }
            closeAfterSpawn.append(writeEnd)
            arguments += ["--descriptors", "\(try pass(writeEnd))"]
            child = try SpawnedProcess.spawn(executable, arguments)
            consume = {
                defer { close(readEnd) }
                return try Consumers.stream(readEnd, size: size)
            }
        case .handoff:
            let slot = try makeSharedSlot(size: HandoffSlot.size)
            let full = try makeBlockingEventFD()
            let empty = try makeBlockingEventFD()
            closeAfterSpawn.append(slot.fd)
            arguments += ["--descriptors", "\(try pass(slot.fd)),\(try pass(full)),\(try pass(empty))"]
            child = try SpawnedProcess.spawn(executable, arguments)
            consume = {
                defer {
                    munmap(slot.base, HandoffSlot.size)
                    close(full)
                    close(empty)
                }
                return try Consumers.handoff(slot: slot.base, full: full, empty: empty, size: size)
            }
        case .memcpy:
            preconditionFailure("memcpy is measured in-process")
        }
        // This process must not hold the child's ends: end of file comes only when the child closes them.
        for fd in closeAfterSpawn { close(fd) }

        guard try receiveByte(control.0) == UInt8(ascii: "R") else {
            throw BenchFailure("producer did not start (\(child.wait()))")
        }
        let start = MonotonicClock.now()
        try sendByte(control.0, UInt8(ascii: "G"))
        let checker: RecordChecker
        do { checker = try consume() } catch {
            child.kill(SIGKILL)
            child.wait()
            throw error
        }
        let end = MonotonicClock.now()
        if checker.failure != nil { child.kill(SIGKILL) }
        let report = try readToEnd(control.0)
        let status = child.wait()
        if let failure = checker.failure { throw BenchFailure("verification failed: \(failure)") }
        guard case .exited(0) = status else { throw BenchFailure("producer ended with \(status)") }
        let fields = report.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        guard fields.count == 2 else { throw BenchFailure("producer's report is malformed: \"\(report)\"") }
        let (count, checksum) = (fields[0], fields[1])
        guard count > 0, count == checker.count else {
            throw BenchFailure("verification failed: producer wrote \(count) records, consumer read \(checker.count)")
        }
        guard checksum == checker.checksum, checksum == BenchRecord.expectedChecksum(count: count, size: size) else {
            throw BenchFailure("verification failed: checksum \(checker.checksum) read, \(checksum) written, \(BenchRecord.expectedChecksum(count: count, size: size)) expected")
        }
        return Measurement(transport: transport, size: size, records: count, seconds: seconds(from: start, to: end))
    }

    /// Single-core memcpy of `size`-byte records from a template into a buffer as large as the
    /// ring, at the ring's record spacing (8-byte header, 8-byte alignment), wrapping like the
    /// ring does. After a short warm-up the buffer lives in this core's cache.
    func memcpyCeiling(size: Int) throws -> Measurement {
        let capacity = Int(options.ringCapacity)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        let filler = RecordFiller(size: size)
        defer { filler.deallocate() }
        let frame = 8 + size
        let chunk = Transport.memcpy.recordsPerClockCheck(size: size)
        var offset = 0
        var last = 0
        func copyFor(_ nanoseconds: UInt64) -> UInt64 {
            var count: UInt64 = 0
            let deadline = MonotonicClock.now() &+ nanoseconds
            repeat {
                for _ in 0..<chunk {
                    if offset + frame > capacity { offset = 0 }
                    (buffer + offset + 8).copyMemory(from: filler.template, byteCount: size)
                    last = offset
                    offset += frame
                }
                count &+= UInt64(chunk)
            } while MonotonicClock.now() < deadline
            return count
        }
        _ = copyFor(20_000_000)
        let start = MonotonicClock.now()
        let count = copyFor(UInt64(options.seconds * 1e9))
        let end = MonotonicClock.now()
        guard memcmp(buffer + last + 8, filler.template, size) == 0 else {
            throw BenchFailure("verification failed: the last record copied differs from its template")
        }
        return Measurement(transport: .memcpy, size: size, records: count, seconds: seconds(from: start, to: end))
    }
}
