import PipeSplitter
import RingChannel
import RingmasterProducer
import SystemKit

/// Why the pump stopped before the end of its input.
enum PumpError: Error, CustomStringConvertible {
    case ring(RingWriteError)
    case read(SystemError)

    var description: String {
        switch self {
        case .ring(let error): "ring: \(error)"
        case .read(let error): "\(error)"
        }
    }
}

/// Moves the input into the ring: reads a block, cuts it into records (`Splitter`), and commits
/// the records it completes inside one batch, so one block costs one publish. Each record is
/// copied once, from the read buffer straight into its reservation in the ring.
///
/// Backpressure needs no code of its own: while the ring is full the commit blocks, so the pump
/// does not read, the pipe fills, and the command blocks in its next write.
struct RecordPump: ~Copyable {
    private let input: FileDescriptor
    private var splitter: Splitter
    private let recordType: RecordType
    private let blockSize: Int
    private let itemName: String
    /// Records still to drop: those the supervisor delivered before this restart.
    private var toSkip: UInt64
    /// Input bytes: `[start, end)` is read but not yet consumed; the room behind holds a block.
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEnd = false
    private var warnedLong = false
    /// Records committed by this process.
    private(set) var committed: UInt64 = 0
    /// Records dropped by the resume skip.
    private(set) var skipped: UInt64 = 0

    /// How the input ended.
    enum Outcome: Equatable {
        /// End of file: every record is committed.
        case endOfInput
        /// Item number `item` does not fit a record and the policy is `fail`; every record before
        /// it is committed and published.
        case tooLong(item: UInt64)
    }

    init(input: FileDescriptor, options: PipeOptions, maxRecord: Int, skip: UInt64) {
        self.input = input
        splitter = Splitter(framing: options.framing, maxRecord: maxRecord, policy: options.long, keepDelimiter: options.keepDelimiter)
        recordType = RecordType(rawValue: options.recordType)
        blockSize = options.blockSize
        itemName = options.itemName
        toSkip = skip
        // The longest unconsumed rest the splitter leaves is max record + 1 bytes (an item that may
        // still fit); behind it there is always room for a whole block.
        buffer = .allocate(byteCount: maxRecord + 1 + blockSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Runs to the end of the input (or a long item under `fail`).
    mutating func run(_ producer: inout Producer) throws(PumpError) -> Outcome {
        while true {
            if end + blockSize > buffer.count {
                PipeSystem.move(buffer.baseAddress!, from: buffer.baseAddress! + start, count: end - start)
                end -= start
                start = 0
            }
            do {
                let n = try PipeSystem.read(input, into: buffer.baseAddress! + end, count: blockSize)
                if n == 0 { atEnd = true } else { end += n }
            } catch { throw .read(error) }
            let stopped: Outcome?
            do {
                stopped = try producer.batch { (writer) throws(RingWriteError) in try commitRecords(&writer) }
            } catch { throw .ring(error) }
            if let stopped { return stopped }
            if atEnd { return .endOfInput }
            if start == end {
                start = 0
                end = 0
            }
        }
    }

    /// Commits every record the buffered input completes; nil when it needs more input.
    private mutating func commitRecords(_ writer: inout RingWriter) throws(RingWriteError) -> Outcome? {
        while true {
            let window = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
            switch splitter.next(window, atEnd: atEnd) {
            case .exhausted:
                return nil
            case .tooLong(let item):
                return .tooLong(item: item)
            case .drop(let consumed):
                start += consumed
            case .record(let length, let consumed, let piece):
                if piece && !warnedLong { try warnLong(maxRecord: writer.maxRecordLength, &writer) }
                if toSkip > 0 {
                    toSkip -= 1
                    skipped += 1
                } else {
                    let target = try writer.reserve(length, type: recordType)
                    if length > 0 { target.baseAddress!.copyMemory(from: window.baseAddress!, byteCount: length) }
                    try writer.commit()
                    committed += 1
                }
                start += consumed
            }
        }
    }

    /// The first long item leaves one log line in the supervisor's log; later ones are silent.
    private mutating func warnLong(maxRecord: Int, _ writer: inout RingWriter) throws(RingWriteError) {
        warnedLong = true
        let what = splitter.policy == .split
            ? "split into records of \(maxRecord) bytes (--long split)"
            : "cut to its first \(maxRecord) bytes, the rest dropped (--long truncate)"
        let line = "\(itemName) \(splitter.itemsEnded + 1) is longer than max record (\(maxRecord) bytes): \(what); later long \(itemName)s are treated alike without a warning"
        // A log line must fit a record too; in a ring that small it goes to standard error, which
        // the supervisor logs as well.
        if line.utf8.count <= maxRecord {
            try writer.sendReserved(.logLine, bytes: Array(line.utf8))
        } else {
            PipeSystem.printError("ringmaster-pipe: \(line)")
        }
    }
}
