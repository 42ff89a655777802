import CShim
import Glibc
import RingChannel
import RingmasterProducer

/// The child side of a two-process case: it attaches to its transport, says `R`eady on the
/// control socket, waits for `G`o, writes records until its time is up, ends the stream the
/// transport's way, and reports `count checksum` on the control socket.
///
/// Attaching happens before `R`, so the parent's clock (started at `G`) measures only the stream.
enum ProducerRole {
    static func run(_ options: ProducerOptions) -> Never {
        // If the parent dies, a producer blocked on a full ring or pipe must not linger.
        _ = cshim_set_parent_death_signal(SIGKILL)
        if let cpu = options.cpu, cshim_pin_to_cpu(cpu) != 0 {
            writeStandardError("ringmaster-bench producer: cannot pin to CPU \(cpu): \(Errno.current); running unpinned\n")
        }
        do {
            let (count, checksum) = try produce(options)
            let report = Array("\(count) \(checksum)\n".utf8)
            let written = report.withUnsafeBytes { raw in write(options.control, raw.baseAddress, raw.count) }
            guard written == report.count else { throw BenchFailure.system("write(report)") }
            exit(0)
        } catch {
            writeStandardError("ringmaster-bench producer (\(options.transport.rawValue), \(options.size) B): \(error)\n")
            exit(1)
        }
    }

    /// Runs the case and returns how many records were written and the sum of their tags.
    private static func produce(_ options: ProducerOptions) throws -> (UInt64, UInt64) {
        var filler = RecordFiller(size: options.size)
        let chunk = options.transport.recordsPerClockCheck(size: options.size)
        switch options.transport {
        case .ringPerRecord, .ringBatched:
            var producer = try Producer.attach()
            let deadline = try handshake(options)
            try produceRing(&producer.writer, batched: options.transport == .ringBatched, filler: &filler,
                            chunk: chunk, deadline: deadline)
            try producer.finish()
        case .pipePerRecord, .pipeBatched, .unixBatched:
            guard let fd = options.descriptors.first else { throw BenchFailure("no stream descriptor") }
            let deadline = try handshake(options)
            try produceStream(fd, perRecord: options.transport == .pipePerRecord, filler: &filler,
                              chunk: chunk, deadline: deadline)
            close(fd)  // end of file is the end of the stream
        case .handoff:
            guard options.descriptors.count == 3 else { throw BenchFailure("handoff needs slot, full and empty descriptors") }
            let slot = try mapShared(options.descriptors[0], size: HandoffSlot.size)
            let deadline = try handshake(options)
            try produceHandoff(slot: slot, full: options.descriptors[1], empty: options.descriptors[2],
                               filler: &filler, chunk: chunk, deadline: deadline)
        case .memcpy:
            throw BenchFailure("memcpy runs in one process")
        }
        return (filler.count, filler.checksum)
    }

    /// `R` out, `G` in; returns the deadline, counted from `G`.
    private static func handshake(_ options: ProducerOptions) throws(BenchFailure) -> UInt64 {
        try sendByte(options.control, UInt8(ascii: "R"))
        guard try receiveByte(options.control) == UInt8(ascii: "G") else { throw BenchFailure("no go from the parent") }
        return MonotonicClock.now() &+ UInt64(options.seconds * 1e9)
    }

    // The loops below copy the filler into a local and store it back after each chunk, so its
    // fields live in registers; every producer does the same, so no transport is favoured.

    /// Zero copy: each record is filled in place between `reserve` and `commit`. Per record, every
    /// commit publishes `tail`; batched, `batch { }` publishes at its end and every `publishThreshold` bytes.
    static func produceRing(_ writer: inout RingWriter, batched: Bool, filler: inout RecordFiller,
                                    chunk: Int, deadline: UInt64) throws(RingWriteError) {
        let size = filler.size
        repeat {
            let start = filler
            if batched {
                filler = try writer.batch { (w: inout RingWriter) throws(RingWriteError) in
                    var local = start
                    for _ in 0..<chunk {
                        let buffer = try w.reserve(size)
                        local.fillNext(buffer.baseAddress!)
                        try w.commit()
                    }
                    return local
                }
            } else {
                var local = start
                for _ in 0..<chunk {
                    let buffer = try writer.reserve(size)
                    local.fillNext(buffer.baseAddress!)
                    try writer.commit()
                }
                filler = local
            }
        } while MonotonicClock.now() < deadline
    }

    /// Per record: one `write` of one record. Batched: records packed back to back into 64 KiB
    /// (or one record, when records are larger), one `write` each.
    private static func produceStream(_ fd: CInt, perRecord: Bool, filler: inout RecordFiller,
                                      chunk: Int, deadline: UInt64) throws(BenchFailure) {
        let size = filler.size
        let perWrite = perRecord ? 1 : max(1, streamWriteBytes / size)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: perWrite * size, alignment: 64)
        defer { buffer.deallocate() }
        let writesPerCheck = max(1, chunk / perWrite)
        repeat {
            var local = filler
            defer { filler = local }
            for _ in 0..<writesPerCheck {
                for index in 0..<perWrite { local.fillNext(buffer + index * size) }
                try writeAll(fd, UnsafeRawBufferPointer(start: buffer, count: perWrite * size))
            }
        } while MonotonicClock.now() < deadline
    }

    /// One record per round trip: fill the slot, mark it full, signal `full`, sleep on `empty`.
    private static func produceHandoff(slot: UnsafeMutableRawPointer, full: CInt, empty: CInt,
                                       filler: inout RecordFiller, chunk: Int, deadline: UInt64) throws(BenchFailure) {
        let record = slot + HandoffSlot.recordOffset
        repeat {
            var local = filler
            defer { filler = local }
            for _ in 0..<chunk {
                local.fillNext(record)
                cshim_store_release_u64(slot, HandoffSlot.holdsRecord)
                try eventSignal(full)
                try eventWait(empty)
            }
        } while MonotonicClock.now() < deadline
        cshim_store_release_u64(slot, HandoffSlot.endOfStream)
        try eventSignal(full)
    }
}

/// The handoff's shared slot: a state word in its own cache line, then one record.
enum HandoffSlot {
    static let recordOffset = 64
    static let size = recordOffset + (64 << 10)
    /// State word values.
    static let holdsRecord: UInt64 = 1
    static let endOfStream: UInt64 = 2
}
