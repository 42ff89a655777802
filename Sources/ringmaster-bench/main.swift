// ringmaster-bench (`make bench`): the ring against its peers, side by side in one run.
//
// The parent is always the consumer; each two-process case re-executes this program as the
// producer (`--role producer ...`), pinned to another CPU. Ratios matter, not absolute figures:
// the machines are shared, so every peer is measured in the same run. See docs/BENCHMARKS.md.
import CShim
import Glibc
import RingChannel

let arguments = CommandLine.arguments
if arguments.count > 2, arguments[1] == "--role" {
    switch arguments[2] {
    case "producer": ProducerRole.run(ProducerOptions.parse(arguments.dropFirst(3)))
    case "restart-worker": SupervisedRoles.restartWorker(arguments.dropFirst(3))
    case "supervised-producer": SupervisedRoles.supervisedProducer(arguments.dropFirst(3))
    case "walk-tree":
        // The walk section's generated tree, kept (for profiling the walker by hand): DIR [ENTRIES].
        guard arguments.count >= 4 else { usageError("--role walk-tree DIR [ENTRIES]") }
        do {
            let tree = try WalkTree(at: arguments[3], entries: arguments.count > 4 ? Int(arguments[4]) ?? 200_000 : 200_000)
            say("\(tree.entries) entries (\(tree.directories) directories) in \(tree.root), made in \(Report.fixed(tree.seconds, 1)) s")
            exit(0)
        } catch {
            usageError("\(error)")
        }
    default: usageError("unknown role \(arguments[2])")
    }
}

let options = BenchOptions.parse(arguments.dropFirst())
// The CPUs this process may use before pinning: the walk section gives them back, so its
// children (the walker pool, fd's threads) may use every one of them.
var allowedCPUs = [UInt8](repeating: 0, count: 128)
let knowsAllowedCPUs = cshim_get_affinity(&allowedCPUs, allowedCPUs.count) == 0
// Consumer on one CPU, producers on another; with a single allowed CPU both share it (and the
// header says so, since the figures then mean something else).
var childCPU: CInt? = nil
var placement = "one CPU allowed: producer and consumer share it (unpinned)"
if cshim_allowed_cpu_count() >= 2 {
    if cshim_pin_to_cpu(0) == 0 {
        childCPU = 1
        placement = "consumer pinned to CPU 0, producer to CPU 1"
    } else {
        placement = "pinning failed (\(Errno.current)): unpinned"
    }
}

let runner = CaseRunner(options: options, childCPU: childCPU)
var report = Report()
var failures: [String] = []
let ringKiB = options.ringCapacity >> 10
say("ringmaster-bench: \(placement); ring \(ringKiB) KiB (max record \(ringKiB / 8) KiB), memfd + eventfd pair")
if options.sections.contains(.table) {
    say("each case: best of \(options.repeats) run(s) of \(Report.fixed(options.seconds, 2)) s; every run verified (count, order, checksum); MB = 10^6 bytes of payload")
    say("the ÷ columns: the ring's records/s divided by that row's, at the same record size")
    say("")
    say(Report.header)
    for size in options.sizes {
        // Rounds interleave the transports, so a burst of load from elsewhere on a shared machine
        // lands on one run of several cases rather than on every run of one case.
        for _ in 0..<options.repeats {
            for transport in options.transports {
                do {
                    report.add(try runner.run(transport, size: size))
                } catch {
                    failures.append("\(transport.rawValue), \(Report.sizeLabel(size)): \(error)")
                }
            }
        }
        for transport in options.transports { say(report.row(transport, size)) }
        say("")
    }

    let (lines, met, measured) = report.targetLines()
    say("targets (ratios of records/s measured in this run):")
    for line in lines { say("  " + line) }
    say("\(met) of \(measured) measured targets met")
}

if options.sections.contains(.supervisor) {
    say("")
    do {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var section = SupervisorReport(cases: SupervisorCases(options: options, runner: runner, scratch: scratch), childCPU: childCPU)
        section.measure()
        let (lines, met, measured) = section.lines()
        for line in lines { say(line) }
        say("\(met) of \(measured) measured supervisor targets met")
        failures += section.failures.map { "supervisor: " + $0 }
    } catch {
        failures.append("supervisor: \(error)")
    }
}

if options.sections.contains(.sdk) {
    say("")
    // The examples cannot pin themselves: supervisor and producer get every allowed CPU.
    if knowsAllowedCPUs { _ = cshim_set_affinity(allowedCPUs, allowedCPUs.count) }
    do {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var section = SDKSection(scratch: scratch, options: options)
        section.measure()
        for line in section.lines().lines { say(line) }
        failures += section.failures.map { "sdk: " + $0 }
    } catch {
        failures.append("sdk: \(error)")
    }
}

if options.sections.contains(.walk) {
    say("")
    if knowsAllowedCPUs { _ = cshim_set_affinity(allowedCPUs, allowedCPUs.count) }
    do {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var section = WalkReport(cases: try WalkCases(scratch: scratch), options: options)
        section.measure()
        let (lines, met, measured) = section.lines()
        for line in lines { say(line) }
        say("\(met) of \(measured) measured walk targets met")
        failures += section.failures.map { "walk: " + $0 }
    } catch {
        failures.append("walk: \(error)")
    }
}

if options.sections.contains(.sqlite) {
    say("")
    if knowsAllowedCPUs { _ = cshim_set_affinity(allowedCPUs, allowedCPUs.count) }
    do {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var section = SQLiteSection(scratch: scratch, options: options)
        section.measure()
        let (lines, met, measured) = section.lines()
        for line in lines { say(line) }
        say("\(met) of \(measured) measured sqlite targets met")
        failures += section.failures.map { "sqlite: " + $0 }
    } catch {
        failures.append("sqlite: \(error)")
    }
}

if !failures.isEmpty {
    say("")
    say("FAILED runs (\(failures.count)):")
    for failure in failures { say("  " + failure) }
    exit(1)
}
