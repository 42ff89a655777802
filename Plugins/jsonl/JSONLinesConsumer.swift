import CRingmasterConsumer
import Glibc
import RingmasterConsumerKit
import RingmasterRendering

/// `jsonl`: one JSON object per record (`RecordRendering.jsonLine`), appended to a file, or
/// written to standard output through the host.
///
/// Settings: `path` (absent: standard output), `rotate` (a size: when a batch would take the file
/// past it, the file becomes `path.1`, older ones shift to `path.2` …), `keep` (rotated files
/// kept, default 5), `flush_interval` (fsync the file this often; otherwise only at flush/close).
final class JSONLinesConsumer: RingmasterConsumer {
    private let host: ConsumerHost
    private var descriptor: CInt?
    private let path: String?
    private let rotateBytes: UInt64?
    private let keep: Int
    private var fileSize: UInt64 = 0
    let tickInterval: Duration?

    /// The checked settings.
    private struct Settings {
        var path: String?
        var rotate: UInt64?
        var keep: Int
        var flushInterval: Duration?
    }

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        _ = try parse(settings)
    }

    private static func parse(_ settings: ConsumerSettings) throws(SettingsError) -> Settings {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: ["path", "rotate", "keep", "flush_interval"], plugin: "jsonl", into: &problems)
        let path = settings.string("path", problems: &problems)
        if path == "" {
            problems.append(.init(key: "path", message: "must not be empty (leave it out to write to standard output)"))
        }
        let rotate = settings.size("rotate", problems: &problems)
        if let rotate, rotate < 4096 {
            problems.append(.init(key: "rotate", message: "must be at least 4KiB (got \(rotate))"))
        }
        let keep = settings.integer("keep", in: 1...1000, problems: &problems) ?? 5
        let flushInterval = settings.duration("flush_interval", problems: &problems)
        if let flushInterval, flushInterval <= .zero {
            problems.append(.init(key: "flush_interval", message: "must be a positive duration"))
        }
        if path == nil {
            for key in ["rotate", "keep", "flush_interval"] where settings[key] != nil {
                problems.append(.init(key: key, message: "needs a path (standard output is not rotated or synced)"))
            }
        }
        if !problems.isEmpty { throw SettingsError(problems) }
        return Settings(path: path, rotate: rotate, keep: Int(keep), flushInterval: flushInterval)
    }

    /// Opens (creates or appends to) the file; a relative path is taken against the manifest's
    /// directory.
    init(settings: ConsumerSettings, host: ConsumerHost) throws {
        self.host = host
        let parsed = try Self.parse(settings)
        rotateBytes = parsed.rotate
        keep = parsed.keep
        tickInterval = parsed.flushInterval
        guard var path = parsed.path else {
            self.path = nil
            descriptor = nil
            return
        }
        if !path.hasPrefix("/") { path = host.manifestDirectory + "/" + path }
        self.path = path
        do { try openFile() } catch { throw SettingsError(key: "path", "cannot be opened: \(error)") }
    }

    deinit { if let descriptor { Glibc.close(descriptor) } }

    private func openFile() throws(WriteError) {
        guard let path else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(message: "open(\(path)): \(String(cString: strerror(errno)))") }
        var st = stat()
        fileSize = fstat(fd, &st) == 0 ? UInt64(st.st_size) : 0
        descriptor = fd
    }

    /// `path` → `path.1`, `path.1` → `path.2`, … keeping `keep` rotated files; then a new `path`.
    private func rotate() throws(WriteError) {
        guard let path, let descriptor else { return }
        fsync(descriptor)
        Glibc.close(descriptor)
        self.descriptor = nil
        unlink("\(path).\(keep)")
        if keep > 1 {
            for index in stride(from: keep - 1, through: 1, by: -1) {
                rename("\(path).\(index)", "\(path).\(index + 1)")
            }
        }
        guard rename(path, "\(path).1") == 0 || errno == ENOENT else {
            throw WriteError(message: "rename(\(path)): \(String(cString: strerror(errno)))")
        }
        try openFile()
    }

    func consume(_ batch: ConsumerBatch) throws {
        var out = ""
        var lineStart = 0
        var prefix = ""
        var prefixOrigin: (UnsafeRawPointer?, Int, UInt64) = (nil, -1, 0)
        for record in batch {
            let origin = (record.workerBytes.baseAddress, record.instance, record.generation)
            if origin != prefixOrigin {
                prefix = RecordRendering.jsonLinePrefix(worker: record.worker, instance: record.instance, generation: record.generation)
                prefixOrigin = origin
            }
            lineStart = out.utf8.count
            RecordRendering.jsonLine(prefix: prefix, sequence: record.sequence, type: record.type,
                                     payload: record.payload, format: record.format, into: &out)
            out += "\n"
            // Rotate at a line boundary when this line would take the file past the limit.
            if let limit = rotateBytes, path != nil, fileSize + UInt64(out.utf8.count) > limit, fileSize + UInt64(lineStart) > 0 {
                let line = String(out.utf8.dropFirst(lineStart))!
                out = String(out.utf8.prefix(lineStart))!
                try writeToFile(out)
                try rotate()
                out = line
            }
        }
        guard path != nil else {
            try host.writeStandardOutput(out)
            return
        }
        try writeToFile(out)
    }

    private func writeToFile(_ text: String) throws(WriteError) {
        guard !text.isEmpty else { return }
        if descriptor == nil { try openFile() }
        try writeAll(text, to: descriptor!)
        fileSize += UInt64(text.utf8.count)
    }

    private func writeAll(_ text: String, to descriptor: CInt) throws(WriteError) {
        var text = text
        let failure: WriteError? = text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n; continue }
                if n == -1 && errno == EINTR { continue }
                return WriteError(message: "write(\(path ?? "stdout")): \(String(cString: strerror(errno)))")
            }
            return nil
        }
        if let failure { throw failure }
    }

    func tick() throws { try flush() }

    func flush() throws {
        if let descriptor, fsync(descriptor) != 0 {
            throw WriteError(message: "fsync(\(path ?? "stdout")): \(String(cString: strerror(errno)))")
        }
    }
}

/// A failed open, write, rename or fsync, with the call, the path and the reason.
struct WriteError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: JSONLinesConsumer.self)
}
