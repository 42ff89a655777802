// ringmaster-pipe: a ready producer. Runs a command (or reads its own standard input) and commits
// each line, NUL-terminated item or fixed-size chunk of that output as one record to the ring of
// the supervisor that started it, with backpressure. See docs/PIPE.md.
//
// The command line is parsed by hand, as in ringmaster-walk: swift-argument-parser would bring
// Foundation into a process that should start fast and stay small, and the command's arguments
// must reach it byte for byte.
import RingChannel
import RingmasterProducer
import SystemKit

@main
enum PipeMain {
    static func main() {
        let options: PipeOptions
        do { options = try PipeOptions.parse(PipeSystem.argumentBytes()) } catch {
            if error.description.isEmpty {
                PipeSystem.printOutput(PipeOptions.usage + "\n")
                PipeSystem.exit(0)
            }
            fail(2, "\(error)\n\(PipeOptions.usage)")
        }
        // Before attach: the lifeline thread it starts inherits the mask and never takes them.
        if options.commandIndex != nil { CommandRunner.holdSignals() }
        var producer: Producer
        do { producer = try Producer.attach() } catch { fail(2, "\(error)") }
        if case .chunks(let size) = options.framing, size > producer.maxRecordLength {
            fail(2, "--chunk \(size) is larger than the ring's max record (\(producer.maxRecordLength) bytes): lower it or raise the worker's channel.max_record")
        }
        if let environment = try? ProducerEnvironment.parse(ProcessEnvironment.current()) {
            PipeSystem.keepFromChildren(inheritedDescriptors(environment))
        }

        var skip: UInt64 = 0
        var note: String? = nil
        if let resume = producer.resume {
            if !options.resume {
                note = "restart: delivering the input from its start again (--no-resume)"
            } else {
                skip = resume.skip
                note = "restart: skipping the first \(skip) records, already delivered"
            }
        }

        var command: CommandRunner? = nil
        var input = PipeSystem.standardInput
        if let index = options.commandIndex {
            do { command = try CommandRunner(argumentsFrom: index) } catch {
                fail(127, "cannot run \(error.subject): \(error.errno) (\(PipeSystem.errnoName(error.errno)))")
            }
            input = command!.output
        }

        var pump = RecordPump(input: input, options: options, maxRecord: producer.maxRecordLength, skip: skip)
        let outcome: RecordPump.Outcome
        do {
            if let note { try producer.log(note) }
            outcome = try pump.run(&producer)
        } catch {
            command?.terminate()
            fail(1, "\(error)")
        }
        if case .tooLong(let item) = outcome {
            command?.terminate()
            fail(1, "\(options.itemName) \(item) is longer than the ring's max record (\(producer.maxRecordLength) bytes) and --long is fail (use --long split or truncate, or raise the worker's channel.max_record)")
        }

        var status: CInt = 0
        if let command {
            do { status = try command.wait().status } catch { fail(1, "\(error)") }
        }
        do { try producer.finish() } catch { fail(1, "ring: \(error)") }
        PipeSystem.exit(status)
    }

    /// The descriptors the supervisor passed: segment, notifiers and lifeline.
    static func inheritedDescriptors(_ environment: ProducerEnvironment) -> [CInt] {
        var descriptors: [CInt] = []
        if case .descriptor(let fd) = environment.segment { descriptors.append(fd) }
        if case .eventfds(let data, let space) = environment.notify { descriptors += [data, space] }
        if let lifeline = environment.lifeline { descriptors.append(lifeline) }
        return descriptors
    }

    static func fail(_ status: CInt, _ message: String) -> Never {
        PipeSystem.printError("ringmaster-pipe: \(message)")
        PipeSystem.exit(status)
    }
}
