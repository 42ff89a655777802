import CShim
import Glibc
import RingChannel
import RingmasterTestSupport

/// The parent side of each two-process case: read until the producer's end of stream, checking
/// every record with `RecordChecker`. Each returns the checker; the caller compares it with the
/// producer's report.
enum Consumers {
    /// Drains the ring with the supervisor's own reader (every check of docs/PROTOCOL.md §10
    /// "What the reader checks" included), releasing after each drain and sleeping on
    /// data-ready when it is empty. The end-of-stream record ends the case.
    static func ring(_ channel: Channel, size: Int, child: SpawnedProcess) throws -> RecordChecker {
        var reader = channel.makeReader()
        var checker = RecordChecker(size: size)
        let dataType = RecordType.data.rawValue
        let endType = RecordType.endOfStream.rawValue
        while true {
            let summary = try reader.drain { record in
                let type = record.type.rawValue
                if type == dataType {
                    checker.check(record.payload.baseAddress!, length: record.payload.count)
                } else if type != endType {
                    checker.noteFailure("unexpected record type \(record.type) at ring position \(record.position)")
                }
            }
            if summary.bytes > 0 { reader.release(through: summary.end) }
            if summary.sawEndOfStream || checker.failure != nil { break }
            if summary.bytes == 0, try !reader.waitForData(timeoutNanoseconds: 100_000_000), child.poll() != nil {
                // The producer is gone; whatever it committed is in the ring.
                let last = try reader.drain { record in
                    if record.type.rawValue == dataType { checker.check(record.payload.baseAddress!, length: record.payload.count) }
                }
                if !last.sawEndOfStream { checker.noteFailure("producer exited (\(child.wait())) without ending its stream") }
                break
            }
        }
        return checker
    }

    /// Reads a byte stream (pipe or socket) into a buffer of at least twice 64 KiB, checks the
    /// whole records in it, and keeps a partial record's bytes for the next read. End of file
    /// ends the case; it must fall on a record boundary.
    static func stream(_ fd: CInt, size: Int) throws(BenchFailure) -> RecordChecker {
        var checker = RecordChecker(size: size)
        let capacity = 2 * max(streamWriteBytes, size)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var held = 0
        while true {
            let n = try readSome(fd, buffer + held, capacity - held)
            if n == 0 { break }
            held += n
            let whole = held - held % size
            var offset = 0
            while offset < whole {
                checker.check(buffer + offset, length: size)
                offset += size
            }
            if checker.failure != nil { break }
            held -= whole
            if held > 0 { buffer.copyMemory(from: buffer + whole, byteCount: held) }
        }
        if held != 0 && checker.failure == nil { checker.noteFailure("stream ended inside a record (\(held) bytes left over)") }
        return checker
    }

    /// The classic recipe's reader: sleep on `full`, check the record in the slot, signal `empty`.
    static func handoff(slot: UnsafeMutableRawPointer, full: CInt, empty: CInt, size: Int) throws(BenchFailure) -> RecordChecker {
        var checker = RecordChecker(size: size)
        let record = UnsafeRawPointer(slot + HandoffSlot.recordOffset)
        while true {
            try eventWait(full)
            let state = cshim_load_acquire_u64(slot)
            cshim_store_relaxed_u64(slot, 0)
            if state == HandoffSlot.endOfStream { break }
            guard state == HandoffSlot.holdsRecord else {
                checker.noteFailure("slot state \(state) after a full signal")
                break
            }
            checker.check(record, length: size)
            if checker.failure != nil { break }
            try eventSignal(empty)
        }
        return checker
    }
}
