import Glibc
import RingChannel
import RingmasterTestSupport

// The sdk section: each producer SDK's records/s through the supervisor. The three example
// producers (examples/{swift,c,python}-producer, built by `make bench`) commit 64-byte records in
// batches of 64 through `ringmaster run` into the `discard` consumer. Each run is timed from spawn to
// exit; an empty run of the same producer (no records: start-up, attach, end-of-stream, exit) is
// subtracted, so records/s = N ÷ (run − empty run). Every example formats its payload per record
// (`<lang> <instance> <seq>` padded with dots), as a real producer builds its data.

/// One example producer, as the bench runs it.
enum SDKProducer: String, CaseIterable {
    case swift, c, python

    /// Records per timed run: about half a second of work for each.
    var records: Int { self == .python ? 1_000_000 : 20_000_000 }

    /// The manifest's command and leading arguments, or why it cannot run.
    func invocation(root: String) -> Result<(command: String, arguments: [String]), BenchFailure> {
        let path: String
        switch self {
        case .swift: path = root + "/examples/swift-producer/.build/release/swift-producer"
        case .c: path = root + "/examples/c-producer/c-producer"
        case .python:
            guard let python = findOnPath("python3") else { return .failure(BenchFailure("python3 is not on PATH")) }
            return .success((python, [root + "/examples/python-producer/producer.py"]))
        }
        guard access(path, X_OK) == 0 else { return .failure(BenchFailure("\(path) is not built (make bench builds the examples)")) }
        return .success((path, []))
    }
}

/// Runs and prints the sdk section.
struct SDKSection {
    let scratch: ScratchDirectory
    let runs: Int
    let ringManifestLine: String
    private(set) var failures: [String] = []
    /// Seconds per run, full and empty, per producer.
    private var full: [SDKProducer: [Double]] = [:]
    private var empty: [SDKProducer: [Double]] = [:]
    /// The package root: the nearest directory above the bench binary that holds Package.swift.
    private let root: String = {
        var directory = executableDirectory()
        while directory.count > 1 {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            if access(directory + "/Package.swift", F_OK) == 0 { return directory }
        }
        return "."
    }()

    init(scratch: ScratchDirectory, options: BenchOptions) {
        self.scratch = scratch
        runs = options.repeats
        ringManifestLine = "channel: { kind: memfd, ring: \(options.ringCapacity >> 10)KiB, max_record: \(options.ringCapacity >> 13)KiB }"
    }

    mutating func measure() {
        // Rounds interleave the producers, so a burst of load elsewhere lands on one run of each.
        var usable = SDKProducer.allCases
        for round in 0..<runs {
            for producer in usable {
                do {
                    empty[producer, default: []].append(try timedRun(producer, records: 0, name: "\(producer)-empty-\(round)"))
                    full[producer, default: []].append(try timedRun(producer, records: producer.records, name: "\(producer)-\(round)"))
                } catch {
                    failures.append("\(producer): \(error)")
                    usable.removeAll { $0 == producer }
                }
            }
        }
    }

    /// One `ringmaster run` of `producer` with `records` records, spawn to exit, in seconds.
    func timedRun(_ producer: SDKProducer, records: Int, name: String) throws -> Double {
        let (command, leading) = try producer.invocation(root: root).get()
        let arguments = leading + ["--records", "\(records)", "--size", "64", "--batch", "64", "--checkpoint-every", "0"]
        let start = MonotonicClock.now()
        let run = try RingmasterRun(scratch, name: name, manifest: discardManifest(command: command, arguments: arguments, channel: ringManifestLine))
        try run.expect(try run.finish(limit: 300), .exited(0))
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        guard run.standardError.contains("end-of-stream=true") else {
            throw BenchFailure("\(name): the producer did not end its stream; stderr ends: \(run.standardError.suffix(600))")
        }
        return seconds
    }

    /// Records/s of `producer`: its records over the best full run minus the median empty run.
    func rate(_ producer: SDKProducer) -> Double? {
        guard let best = full[producer]?.min(), let starts = empty[producer], !starts.isEmpty else { return nil }
        let overhead = starts.sorted()[starts.count / 2]
        guard best > overhead else { return nil }
        return Double(producer.records) / (best - overhead)
    }

    func lines() -> (lines: [String], met: Int, measured: Int) {
        var out: [String] = []
        out.append("sdk: each producer SDK's example through `ringmaster run` into `discard`; 64 B records, batches of 64, payload formatted per record")
        out.append("records/s = records ÷ (best of \(runs) runs − median run with no records: start-up, attach and exit taken out); unpinned")
        out.append("the × column: this SDK's records/s ÷ the Swift SDK's")
        out.append("")
        out.append(pad("producer", 34) + pad("records", 12, right: true) + pad("start-up s", 12, right: true) + pad("M rec/s", 10, right: true) + pad("× Swift", 10, right: true))
        let swift = rate(.swift)
        for producer in SDKProducer.allCases {
            var line = pad("examples/\(producer.rawValue)-producer", 34) + pad(Report.grouped(Double(producer.records)), 12, right: true)
            guard let rate = rate(producer), let starts = empty[producer] else {
                out.append(line + "  not measured")
                continue
            }
            line += pad(Report.fixed(starts.sorted()[starts.count / 2], 3), 12, right: true)
            line += pad(Report.fixed(rate / 1e6, 2), 10, right: true)
            line += pad(swift.map { Report.ratio(rate / $0) } ?? "-", 10, right: true)
            out.append(line)
        }
        return (out, 0, 0)
    }
}
