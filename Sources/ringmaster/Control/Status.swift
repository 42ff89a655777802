import ArgumentParser
import ControlProtocol
import Foundation

/// `ringmaster status`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every worker instance and consumer of a running supervisor.",
        discussion: """
            Per instance: state, pid, uptime, restarts, last exit, records and bytes delivered, \
            rate (records/s since the previous status, over at least a second), ring fill, and \
            how long the producer waited for space. Per consumer: records consumed, errors, lag \
            (records routed to it and not yet consumed), queued batches. --json prints the \
            control protocol's status object (docs/CONTROL.md). Exit codes: 0; 2 usage error; \
            3 no supervisor reachable.
            """
    )

    @Flag(name: .long, help: "Print the status as one JSON object.")
    var json = false

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "status"), options)
        guard let report = response.status else { throw ExitCode(1) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            say(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        say(StatusTable.header(report))
        for line in StatusTable.lines(report) { say(line) }
    }
}
