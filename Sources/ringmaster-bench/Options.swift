import Glibc

/// The ways of moving records that the benchmark compares, in the order the table shows them.
enum Transport: String, CaseIterable, Sendable {
    /// The ring, `tail` published after every record: the latency-first way.
    case ringPerRecord = "ring-per-record"
    /// The ring inside `writer.batch { }`: published at the batch's end and every `publishThreshold` bytes.
    case ringBatched = "ring-batched"
    /// A pipe, one `write` per record: what a producer that does not batch pays per record.
    case pipePerRecord = "pipe-per-record"
    /// A pipe, records packed into 64 KiB writes.
    case pipeBatched = "pipe-batched"
    /// A Unix stream socket, records packed into 64 KiB writes: the strongest kernel peer.
    case unixBatched = "unix-batched"
    /// One shared slot and two eventfds ("full", "empty"): the classic recipe, one record per round trip.
    case handoff = "handoff"
    /// One core copying records into a cache-resident buffer the size of the ring: the ceiling.
    case memcpy = "memcpy"

    /// The name the table shows.
    var label: String {
        switch self {
        case .ringPerRecord: "ring, publish per record"
        case .ringBatched: "ring, publish per batch"
        case .pipePerRecord: "pipe, write per record"
        case .pipeBatched: "pipe, 64 KiB writes"
        case .unixBatched: "Unix socket, 64 KiB writes"
        case .handoff: "single-slot handoff (2 eventfds)"
        case .memcpy: "memcpy ceiling (1 core)"
        }
    }

    var isRing: Bool { self == .ringPerRecord || self == .ringBatched }

    /// Records between two looks at the clock: often enough to stop within about a millisecond of
    /// the deadline, rarely enough that reading the clock costs nothing measurable.
    func recordsPerClockCheck(size: Int) -> Int {
        switch self {
        case .handoff: 16
        case .pipePerRecord: max(1, min(1024, (256 << 10) / size))
        default: max(1, (256 << 10) / size)
        }
    }
}

/// Bytes a batched stream producer hands to one `write`.
let streamWriteBytes = 64 << 10

/// The parts of the output: the transport table, the supervisor's section after it, and the
/// walker's (the whole path against find and fd).
enum Section: String, CaseIterable {
    case table
    case supervisor
    /// Each producer SDK's example (Swift, C, Python) through `ringmaster run` into `discard`.
    case sdk
    case walk
    /// A walk into SQLite through the sqlite plugin against find -printf | sqlite3 .import.
    case sqlite
}

/// What the parent was asked to measure.
struct BenchOptions {
    var seconds = 0.5
    var repeats = 3
    var sizes = [16, 64, 1024, 64 << 10]
    var transports = Transport.allCases
    var ringCapacity: UInt64 = 1 << 20
    var sections = Section.allCases
    /// The walk section: timed runs per case and tree (the median counts), the generated tree's
    /// size, and the trees (`generated` or a path).
    var walkRuns = 5
    var walkEntries = 200_000
    var walkTrees = [WalkReport.generatedName, "/usr"]

    static let usage = """
        usage: ringmaster-bench [--seconds S] [--repeats N] [--sizes 16,64,1024,65536]
                                [--only ring-batched,unix-batched,...] [--ring-capacity BYTES]
                                [--sections table,supervisor,sdk,walk,sqlite]
                                [--walk-runs N] [--walk-entries N] [--walk-trees generated,/usr]

        Measures, in one run and side by side, two processes pinned to different CPUs moving records
        through the ring (publishing per record and per batch), a pipe (one write per record, and 64 KiB
        writes), a Unix stream socket (64 KiB writes) and a single-slot handoff with two eventfds, plus
        single-core memcpy as the ceiling. Each case runs N times for S seconds; the best run counts.
        Every run is verified (count, order, checksum). Then the supervisor's section: restart latency
        of `ringmaster run` against a bare posix_spawn, records/s through the supervisor against the
        ring alone (64 B), and the supervisor's context switches while idle. Then the sdk section: the
        Swift, C and Python example producers (built by `make bench`) through `ringmaster run` into
        `discard`, 64 B records, records/s net of start-up. Then the walker's section:
        `ringmaster run` with ringmaster-walk and the stats consumer, start-up included, against
        find and fdfind on a generated tree of N entries and on /usr, warm cache, median of N runs,
        every run's count checked. Then the sqlite section: a walk into SQLite through `ringmaster run`
        and the sqlite plugin against find -printf | sqlite3 .import into a table of the same columns,
        with and without indexes, on the same trees. Exit status: 0 when every run verified, 1 when a run failed or
        could not be measured, 2 on a usage error.

        transports: \(Transport.allCases.map(\.rawValue).joined(separator: ", "))
        """

    static func parse(_ arguments: ArraySlice<String>) -> BenchOptions {
        var options = BenchOptions()
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            if flag == "--help" || flag == "-h" {
                say(usage)
                exit(0)
            }
            guard let value = iterator.next() else { usageError("\(flag) needs a value") }
            switch flag {
            case "--seconds":
                guard let seconds = Double(value), seconds > 0, seconds <= 60 else { usageError("--seconds must be in (0, 60]") }
                options.seconds = seconds
            case "--repeats":
                guard let repeats = Int(value), repeats >= 1 else { usageError("--repeats must be ≥ 1") }
                options.repeats = repeats
            case "--sizes":
                let sizes = value.split(separator: ",").map { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil && $0! >= 16 && $0! % 8 == 0 && $0! <= 64 << 10 }) else {
                    usageError("--sizes takes record sizes in bytes, multiples of 8 from 16 to 65536")
                }
                options.sizes = sizes.map { $0! }
            case "--only":
                let names = value.split(separator: ",").map(String.init)
                let chosen = names.compactMap(Transport.init(rawValue:))
                guard chosen.count == names.count, !chosen.isEmpty else { usageError("--only takes transports from: \(Transport.allCases.map(\.rawValue).joined(separator: ", "))") }
                options.transports = Transport.allCases.filter(chosen.contains)
            case "--sections":
                let names = value.split(separator: ",").map(String.init)
                let chosen = names.compactMap(Section.init(rawValue:))
                guard chosen.count == names.count, !chosen.isEmpty else { usageError("--sections takes table, supervisor, sdk, walk, sqlite, or several of them") }
                options.sections = Section.allCases.filter(chosen.contains)
            case "--walk-runs":
                guard let runs = Int(value), runs >= 1 else { usageError("--walk-runs must be ≥ 1") }
                options.walkRuns = runs
            case "--walk-entries":
                guard let entries = Int(value), entries >= 1000, entries <= 10_000_000 else { usageError("--walk-entries must be in [1000, 10000000]") }
                options.walkEntries = entries
            case "--walk-trees":
                let trees = value.split(separator: ",").map(String.init)
                guard !trees.isEmpty, trees.allSatisfy({ $0 == WalkReport.generatedName || $0.hasPrefix("/") }) else {
                    usageError("--walk-trees takes `generated` and absolute paths")
                }
                options.walkTrees = trees
            case "--ring-capacity":
                guard let capacity = UInt64(value), capacity >= 1 << 19, capacity & (capacity - 1) == 0 else {
                    usageError("--ring-capacity must be a power of two ≥ 524288 (a 64 KiB record needs capacity/8 ≥ 64 KiB)")
                }
                options.ringCapacity = capacity
            default:
                usageError("unknown argument \(flag)")
            }
        }
        return options
    }
}

/// What the parent tells a producer child on its command line.
struct ProducerOptions {
    var transport = Transport.ringBatched
    var size = 64
    var seconds = 0.5
    /// The control socket: `R` (ready) out, `G` (go) in, then the report out.
    var control: CInt = -1
    /// Transport descriptors (pipe or socket end; handoff slot, full, empty); the ring uses the environment contract.
    var descriptors: [CInt] = []
    var cpu: CInt? = nil

    static func parse(_ arguments: ArraySlice<String>) -> ProducerOptions {
        var options = ProducerOptions()
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { usageError("\(flag) needs a value") }
            switch flag {
            case "--transport":
                guard let transport = Transport(rawValue: value) else { usageError("unknown transport \(value)") }
                options.transport = transport
            case "--size": options.size = Int(value) ?? 0
            case "--seconds": options.seconds = Double(value) ?? 0
            case "--control": options.control = CInt(value) ?? -1
            case "--descriptors": options.descriptors = value.split(separator: ",").compactMap { CInt($0) }
            case "--cpu": options.cpu = CInt(value)
            default: usageError("unknown producer argument \(flag)")
            }
        }
        guard options.size >= 16, options.size % 8 == 0, options.seconds > 0, options.control >= 0 else {
            usageError("producer needs --size (multiple of 8, ≥ 16), --seconds and --control")
        }
        return options
    }
}

/// Prints the problem and the usage, and exits with status 2.
func usageError(_ message: String) -> Never {
    writeStandardError("ringmaster-bench: \(message)\n\(BenchOptions.usage)\n")
    exit(2)
}
