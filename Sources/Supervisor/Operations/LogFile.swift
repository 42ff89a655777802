import SystemKit

/// Size rotation of a log file as data: when it is due and which names move.
public enum LogRotation {
    /// One step of a rotation.
    public enum Step: Hashable, Sendable {
        /// Remove the oldest kept file (a missing one is fine).
        case remove(String)
        /// Rename one generation to the next (a missing source is fine: there is a gap).
        case rename(from: String, to: String)
    }

    /// Whether a line of `lineBytes` must go to a fresh file: it would take a file of `size`
    /// bytes past `maxSize`. An empty file takes any line, so one longer than `maxSize` still
    /// goes into a file of its own and rotation never loops.
    public static func isDue(size: UInt64, adding lineBytes: Int, maxSize: UInt64) -> Bool {
        size > 0 && size + UInt64(lineBytes) > maxSize
    }

    /// The renames that shift `path`'s rotated files, oldest first, so no file is overwritten
    /// that is still wanted: remove `path.keep`, `path.(keep-1)` → `path.keep`, …, `path` →
    /// `path.1`. Empty for `keep` 0: the file is truncated instead and starts over.
    public static func steps(path: String, keep: Int) -> [Step] {
        guard keep > 0 else { return [] }
        var steps: [Step] = [.remove("\(path).\(keep)")]
        for generation in stride(from: keep - 1, through: 1, by: -1) {
            steps.append(.rename(from: "\(path).\(generation)", to: "\(path).\(generation + 1)"))
        }
        steps.append(.rename(from: path, to: "\(path).1"))
        return steps
    }
}

/// A worker's log file: whole lines appended with `write(2)`, rotated by size, reopened on
/// request (SIGUSR1, after an external logrotate moved it away).
///
/// Loop-thread only, and its writes block the loop thread. That is deliberate: a line is at most
/// some 50 KiB (`LineSplitter` pieces) and a `write` to a local file copies into the page cache;
/// it waits for the disk only under dirty-page throttling, which the supervisor's own log on
/// standard error (swift-log writes it on the loop thread too) already meets. A log on a file
/// system that can hang (NFS hard mounts, FUSE) can stall the loop: docs/SUPERVISOR.md says so.
///
/// Failures never throw: each is passed to `report` once (an open that fails, a write that
/// fails, a rotation that fails), and again only after the same operation succeeded in between.
/// Lines are never dropped while the file, or the one it was renamed to, can be written.
public final class RotatingLogFile {
    /// The file, absolute.
    public let path: String
    /// Rotate before a line that would take the file past this size.
    public let maxSize: UInt64
    /// Rotated files kept; 0 truncates the file instead.
    public let keep: Int
    /// The file's size as this writer knows it (its size when opened plus what it appended).
    public private(set) var size: UInt64 = 0
    private var descriptor: FileDescriptor?
    private let report: (String) -> Void

    private enum Operation { case open, write, rotate }
    /// Failures reported and not yet followed by a success of the same operation.
    private var failing: Set<Operation> = []

    /// A writer for `path`; nothing is opened until `open()`. `report` gets each failure's
    /// message (e.g. `cannot open log file /x/w.log: open(/x/w.log): No such file or directory`).
    public init(path: String, maxSize: UInt64, keep: Int, report: @escaping (String) -> Void) {
        self.path = path
        self.maxSize = maxSize
        self.keep = keep
        self.report = report
    }

    deinit { descriptor?.close() }

    /// Whether a descriptor is open (it may name a file that was renamed since).
    public var isOpen: Bool { descriptor != nil }

    /// Opens the file at `path` (created 0644 minus the umask, appended to if it exists).
    /// On failure the file stays closed, and lines are not written, until `reopen()` succeeds.
    public func open() {
        guard descriptor == nil else { return }
        if let opened = openAtPath() { (descriptor, size) = opened }
    }

    /// Opens `path` anew and switches to it, for an external rotation that renamed the file. If
    /// that fails, lines keep going to the descriptor already open (the renamed file).
    public func reopen() {
        guard let opened = openAtPath() else { return }
        descriptor?.close()
        (descriptor, size) = opened
    }

    /// Closes the file. Idempotent; `open()` may follow.
    public func close() {
        descriptor?.close()
        descriptor = nil
    }

    /// Appends `line` (which ends with its `\n`); see `append(_:)` for bytes.
    public func append(_ line: String) {
        var line = line
        line.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends one whole line (ending with its `\n`) in one `write`, rotating first when it
    /// would take the file past `maxSize`. Does nothing while the file could not be opened.
    public func append(_ line: UnsafeRawBufferPointer) {
        guard descriptor != nil else { return }
        if LogRotation.isDue(size: size, adding: line.count, maxSize: maxSize) { rotate() }
        guard let descriptor else { return }
        // Counted even when the write fails: part of the line may be in the file, and the size
        // is taken from the file again at the next open.
        size += UInt64(line.count)
        do {
            try descriptor.writeAll(line, subject: path)
            succeeded(.write)
        } catch {
            failed(.write, "cannot write log file \(path): \(error); its lines are lost until a write succeeds")
        }
    }

    /// The renames of `LogRotation.steps`, then a new file at `path`; or, for `keep` 0, the file
    /// truncated. A failure is reported and the current file goes on growing; the next try comes
    /// after another `maxSize` bytes, not at every line.
    private func rotate() {
        guard let current = descriptor else { return }
        guard keep > 0 else {
            do {
                try current.truncate(to: 0, subject: path)
                succeeded(.rotate)
            } catch {
                failed(.rotate, "cannot start log file \(path) over: \(error); it keeps growing")
            }
            size = 0
            return
        }
        do throws(SystemError) {
            for step in LogRotation.steps(path: path, keep: keep) {
                do {
                    switch step {
                    case .remove(let name): try FileSystem.unlink(name)
                    case .rename(let source, let target): try FileSystem.rename(source, to: target)
                    }
                } catch where error.errno == .noSuchFile {
                    continue  // a gap in the generations, or the file was moved away already
                }
            }
        } catch {
            failed(.rotate, "cannot rotate log file \(path): \(error); it keeps growing")
            size = 0
            return
        }
        succeeded(.rotate)
        // The old descriptor now names path.1: it stays in use if no new file can be made.
        if let opened = openAtPath() {
            current.close()
            (descriptor, size) = opened
        } else {
            size = 0
        }
    }

    /// A new descriptor for `path` and the file's current size, or nil after reporting why not.
    private func openAtPath() -> (FileDescriptor, UInt64)? {
        do {
            let opened = try FileDescriptor.openForAppending(path, permissions: 0o644)
            let existing = (try? opened.size()).map { UInt64(max($0, 0)) } ?? 0
            succeeded(.open)
            return (opened, existing)
        } catch {
            failed(.open, "cannot open log file \(path): \(error)")
            return nil
        }
    }

    private func failed(_ operation: Operation, _ message: String) {
        if failing.insert(operation).inserted { report(message) }
    }

    private func succeeded(_ operation: Operation) {
        if !failing.isEmpty { failing.remove(operation) }
    }
}
