import Glibc
import Manifest
import SystemKit

/// `stdout`: one readable line per record, `[worker.instance] payload`, rendered by format.
final class StdoutConsumer: Consumer {
    func consume(_ batch: RecordBatch) throws {
        let prefix = "[\(batch.origin.worker).\(batch.origin.instance)] "
        var out = ""
        for record in batch.records {
            out += prefix
            out += RecordRendering.readable(record.payload, format: batch.origin.format)
            out += "\n"
        }
        try StandardOutput.write(out)
    }

    func flush() throws {}
    func close() throws {}
}

/// `jsonl`: one JSON object per record (see `RecordRendering.jsonLine`), to a file or stdout.
final class JSONLinesConsumer: Consumer {
    private let descriptor: CInt?
    private let path: String?

    /// Opens (creates or appends to) `path`; nil writes to standard output.
    init(path: String?) throws(SystemError) {
        self.path = path
        if let path {
            descriptor = try valueOrErrno("open", path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
        } else {
            descriptor = nil
        }
    }

    deinit { if let descriptor { Glibc.close(descriptor) } }

    func consume(_ batch: RecordBatch) throws {
        var out = ""
        for record in batch.records {
            RecordRendering.jsonLine(record, from: batch.origin, into: &out)
            out += "\n"
        }
        guard let descriptor else {
            try StandardOutput.write(out)
            return
        }
        try writeAll(out, to: descriptor)
    }

    private func writeAll(_ text: String, to descriptor: CInt) throws(SystemError) {
        var text = text
        let failure: SystemError? = text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n; continue }
                if n == -1 && errno == EINTR { continue }
                return SystemError("write", path ?? "stdout")
            }
            return nil
        }
        if let failure { throw failure }
    }

    func flush() throws {
        if let descriptor { fsync(descriptor) }
    }

    func close() throws { try flush() }
}

/// `stats`: per worker, records, payload bytes, rate and restarts; printed at the end, and every
/// `interval` when set.
final class StatsConsumer: Consumer {
    private struct Figures {
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        var restarts = 0
        var exits: [String] = []
        var first: UInt64 = 0
        var last: UInt64 = 0
    }

    private var figures: [String: Figures] = [:]
    private var order: [String] = []
    let tickInterval: Duration?

    init(interval: Duration?) { tickInterval = interval }

    func consume(_ batch: RecordBatch) throws {
        let now = MonotonicClock.now()
        update(batch.origin.worker) { f in
            if f.records == 0 { f.first = now }
            f.records += UInt64(batch.records.count)
            f.bytes += UInt64(batch.payloadBytes)
            f.last = now
        }
    }

    func event(_ event: WorkerEvent) {
        switch event {
        case .started(let worker, _, let generation, _):
            update(worker) { if generation > 0 { $0.restarts += 1 } }
        case .exited(let worker, let instance, let reason):
            update(worker) { f in
                f.exits.append("\(worker).\(instance) \(reason)")
                if f.exits.count > 4 { f.exits.removeFirst() }
            }
        }
    }

    private func update(_ worker: String, _ body: (inout Figures) -> Void) {
        if figures[worker] == nil {
            figures[worker] = Figures()
            order.append(worker)
        }
        body(&figures[worker]!)
    }

    func tick() { try? StandardOutput.write(report(final: false)) }
    func flush() throws {}
    func close() throws { try StandardOutput.write(report(final: true)) }

    /// The table: one line per worker.
    func report(final: Bool) -> String {
        var out = final ? "stats: final\n" : "stats:\n"
        for worker in order {
            let f = figures[worker]!
            let seconds = Double(f.last &- f.first) / 1e9
            let rate = seconds > 0 ? Double(f.records) / seconds : 0
            out += "  \(worker): \(f.records) records, \(f.bytes) bytes, \(Int(rate.rounded())) records/s, \(f.restarts) restarts\n"
            if final && !f.exits.isEmpty { out += "    last exits: \(f.exits.joined(separator: "; "))\n" }
        }
        if order.isEmpty { out += "  (no records)\n" }
        return out
    }
}

/// `discard`: takes every batch and does nothing with it (for measuring the supervisor itself,
/// and for workers whose records only need draining).
final class DiscardConsumer: Consumer {
    func consume(_ batch: RecordBatch) throws {}
    func flush() throws {}
    func close() throws {}
}
