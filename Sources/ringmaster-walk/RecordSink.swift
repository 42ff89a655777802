import RingChannel
import SystemKit

/// Where the walk's records go. It applies the resume skip, schedules checkpoints, cuts a path
/// that does not fit a record, writes each record in place in the ring (reserve, fill, commit),
/// and holds the test-only crash switch.
struct RecordSink {
    /// Records between checkpoints.
    let checkpointEvery: UInt64
    /// The ring's max record (payload bytes).
    let maxRecord: Int
    /// Records still to drop: those delivered after the checkpoint this run resumed from.
    var toSkip: UInt64
    /// Test only: SIGKILL this process right after committing this many records.
    let crashAfter: UInt64?
    /// Records committed since the last checkpoint (or since the start).
    private(set) var sinceCheckpoint: UInt64 = 0
    /// Records committed by this process.
    private(set) var committed: UInt64 = 0
    /// Of those, error records.
    private(set) var errors: UInt64 = 0

    init(checkpointEvery: UInt64, maxRecord: Int, toSkip: UInt64, crashAfter: UInt64?) {
        self.checkpointEvery = checkpointEvery
        self.maxRecord = maxRecord
        self.toSkip = toSkip
        self.crashAfter = crashAfter
    }

    /// Whether the next entry should be preceded by a checkpoint. Never while skipping: those
    /// records were delivered already, so a checkpoint there would make them count twice.
    var checkpointDue: Bool { toSkip == 0 && sinceCheckpoint >= checkpointEvery }

    /// Commits a checkpoint token.
    mutating func checkpoint(_ token: ResumeToken, into writer: inout RingWriter) throws(RingWriteError) {
        try writer.sendReserved(.checkpoint, bytes: token.encoded())
        sinceCheckpoint = 0
    }

    /// Commits one record: `header` then `path`. A record that replays one already delivered
    /// (`skippable` and the skip not used up) is dropped instead.
    @inline(__always)
    mutating func emit(_ header: FileEntryHeader, path: UnsafeRawBufferPointer, skippable: Bool = true,
                       into writer: inout RingWriter) throws(RingWriteError) {
        if skippable && toSkip > 0 {
            toSkip -= 1
            return
        }
        var header = header
        var path = path
        if FileEntryLayout.headerSize + path.count > maxRecord {
            let type = header.type
            header = .error(WalkSystem.nameTooLongErrno, operation: .record, type: type)
            header.flags = FileEntryLayout.Flag.pathTruncated
            path = UnsafeRawBufferPointer(rebasing: path[..<max(0, maxRecord - FileEntryLayout.headerSize)])
        }
        let buffer = try writer.reserve(FileEntryLayout.headerSize + path.count)
        header.write(path: path, into: buffer)
        try writer.commit()
        committed += 1
        sinceCheckpoint += 1
        if header.kind == .error { errors += 1 }
        if committed == crashAfter { WalkSystem.killSelf() }
    }
}
