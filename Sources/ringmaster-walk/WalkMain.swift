// ringmaster-walk: the reference producer. Walks directory trees and commits one file-entry
// record per entry (docs/PROTOCOL.md §13) to the ring of the supervisor that started it.
//
// The command line is parsed by hand rather than with swift-argument-parser: that library
// brings Foundation (and ICU) into the process, and the walker's start-up is part of every
// benchmark against find and fd. `WalkOptions.parse` is still one pure function.
import RingChannel
import RingmasterProducer

@main
enum WalkMain {
    static func main() {
        let options: WalkOptions
        do { options = try WalkOptions.parse(WalkSystem.argumentBytes()) } catch {
            if error.description.isEmpty {
                WalkSystem.printOutput(WalkOptions.usage + "\n")
                WalkSystem.exit(0)
            }
            WalkSystem.printError("ringmaster-walk: \(error)\n\(WalkOptions.usage)")
            WalkSystem.exit(2)
        }
        var producer: Producer
        do { producer = try Producer.attach() } catch {
            WalkSystem.printError("ringmaster-walk: \(error)")
            WalkSystem.exit(2)
        }
        guard producer.maxRecordLength > FileEntryLayout.headerSize else {
            WalkSystem.printError("ringmaster-walk: the ring's max record (\(producer.maxRecordLength) bytes) is too small for a file-entry record (header \(FileEntryLayout.headerSize) bytes plus the path)")
            WalkSystem.exit(2)
        }
        let shard = Shard(instance: producer.instance, instances: producer.instances, splitDepth: options.splitDepth)
        let fingerprint = options.fingerprint(instance: shard.instance, instances: shard.instances)
        var token: ResumeToken? = nil
        var skip: UInt64 = 0
        var note: String? = nil
        if let resume = producer.resume {
            skip = resume.skip
            if let bytes = resume.token {
                if let decoded = ResumeToken(decoding: bytes), decoded.fingerprint == fingerprint {
                    token = decoded
                    note = "resuming at root \(decoded.rootIndex), \(String(decoding: decoded.relativePath, as: UTF8.self).debugDescription), skipping \(skip)"
                } else {
                    // Not a token of this configuration: walking it all again repeats records, which beats losing them.
                    skip = 0
                    note = "resume token not recognised: walking from the start"
                }
            } else {
                note = "resuming from the start, skipping \(skip)"
            }
        }
        let sink = RecordSink(checkpointEvery: options.checkpointEvery, maxRecord: producer.maxRecordLength,
                              toSkip: skip, crashAfter: crashSwitch(generation: producer.generation, instance: producer.instance))
        let helpers = options.statThreads ?? StatAhead.defaultHelpers(instances: producer.instances)
        var walker = Walker(options: options, shard: shard, sink: sink, resume: token, statHelpers: helpers)
        do {
            if let note { try producer.log(note) }
            try producer.batch { (writer) throws(RingWriteError) in try walker.run(&writer) }
            try producer.log("walked \(walker.sink.committed) records (\(walker.sink.errors) errors) in \(walker.directoriesRead) directories")
            try producer.finish()
        } catch {
            WalkSystem.printError("ringmaster-walk: \(error)")
            WalkSystem.exit(1)
        }
        WalkSystem.exit(0)
    }

    /// Test only: with RINGMASTER_WALK_CRASH_EVERY=N, generations below
    /// RINGMASTER_WALK_CRASH_GENERATIONS (default 25) SIGKILL themselves after a pseudo-random
    /// 1…N records, the number drawn from the generation and instance (repeatable).
    static func crashSwitch(generation: UInt64, instance: Int) -> UInt64? {
        guard let text = WalkSystem.environment("RINGMASTER_WALK_CRASH_EVERY"), let every = UInt64(text), every > 0 else { return nil }
        let generations = WalkSystem.environment("RINGMASTER_WALK_CRASH_GENERATIONS").flatMap { UInt64($0) } ?? 25
        guard generation < generations else { return nil }
        var z = generation &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(instance) &+ 1
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return 1 + z % every
    }
}
