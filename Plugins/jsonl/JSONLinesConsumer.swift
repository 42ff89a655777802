import CRingmasterConsumer
import Glibc
import RingmasterConsumerKit
import RingmasterRendering

/// `jsonl`: one JSON object per record (`RecordRendering.jsonLine`), appended to a file, or
/// written to standard output through the host.
final class JSONLinesConsumer: RingmasterConsumer {
    private let host: ConsumerHost
    private let descriptor: CInt?
    private let path: String?

    static func check(_ settings: ConsumerSettings) throws(SettingsError) {
        _ = try path(in: settings)
    }

    /// The `path` setting, checked; nil: standard output.
    private static func path(in settings: ConsumerSettings) throws(SettingsError) -> String? {
        var problems: [SettingsError.Problem] = []
        settings.rejectUnknown(allowing: ["path"], plugin: "jsonl", into: &problems)
        let path = settings.string("path", problems: &problems)
        if path == "" {
            problems.append(.init(key: "path", message: "must not be empty (leave it out to write to standard output)"))
        }
        if !problems.isEmpty { throw SettingsError(problems) }
        return path
    }

    /// Opens (creates or appends to) the file; a relative path is taken against the manifest's
    /// directory.
    init(settings: ConsumerSettings, host: ConsumerHost) throws {
        self.host = host
        guard var path = try Self.path(in: settings) else {
            self.path = nil
            descriptor = nil
            return
        }
        if !path.hasPrefix("/") { path = host.manifestDirectory + "/" + path }
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SettingsError(key: "path", "cannot be opened: open(\(path)): \(String(cString: strerror(errno)))")
        }
        descriptor = fd
    }

    deinit { if let descriptor { Glibc.close(descriptor) } }

    func consume(_ batch: ConsumerBatch) throws {
        var out = ""
        var prefix = ""
        var prefixOrigin: (UnsafeRawPointer?, Int, UInt64) = (nil, -1, 0)
        for record in batch {
            let origin = (record.workerBytes.baseAddress, record.instance, record.generation)
            if origin != prefixOrigin {
                prefix = RecordRendering.jsonLinePrefix(worker: record.worker, instance: record.instance, generation: record.generation)
                prefixOrigin = origin
            }
            RecordRendering.jsonLine(prefix: prefix, sequence: record.sequence, type: record.type,
                                     payload: record.payload, format: record.format, into: &out)
            out += "\n"
        }
        guard let descriptor else {
            try host.writeStandardOutput(out)
            return
        }
        try writeAll(out, to: descriptor)
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

    func flush() throws {
        if let descriptor, fsync(descriptor) != 0 {
            throw WriteError(message: "fsync(\(path ?? "stdout")): \(String(cString: strerror(errno)))")
        }
    }
}

/// A failed write or fsync, with the call, the path and the reason.
struct WriteError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@_cdecl("ringmaster_consumer_entry")
public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
    ConsumerExport.table(for: JSONLinesConsumer.self)
}
