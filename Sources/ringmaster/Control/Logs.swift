import ArgumentParser
import ControlProtocol
import Supervisor
import SystemKit

/// `ringmaster logs WORKER[.N] [-f]`.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the captured output (stdout and stderr) of a worker's instances.",
        discussion: """
            The supervisor keeps the latest lines of every instance in memory (1,000 lines or \
            256 KiB per instance; the `log` manifest block also writes them to a file). Lines of \
            several instances are merged by time. -f keeps printing new lines until interrupted. \
            Each line: TIME INSTANCE STREAM TEXT. Exit codes: 0; 1 refused (no such worker); 2 \
            usage error; 3 no supervisor reachable (or it went away while following).
            """
    )

    @Argument(help: "WORKER or WORKER.INSTANCE.")
    var target: String

    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: "How many of the latest lines to print first.")
    var lines = 100

    @OptionGroup var options: ControlOptions

    func run() throws {
        let client = try ControlClient(path: try options.socketPath())
        let response = try client.send(ControlRequest(cmd: "logs", target: target, follow: follow, lines: lines))
        guard response.ok else {
            Terminal.error(response.error ?? "the supervisor refused the request")
            throw ExitCode(1)
        }
        for line in response.log ?? [] { say(Self.format(line)) }
        guard follow else { return }
        while let bytes = try client.readLine(timeout: nil) {
            guard let event = try? ControlProtocol.decode(ControlResponse.self, from: bytes), event.event == "log" else { continue }
            for line in event.log ?? [] { say(Self.format(line)) }
        }
        Terminal.error("the supervisor went away")
        throw ExitCode(3)
    }

    /// `2026-11-29T02:25:00.123Z w.0 stdout text`, the time as the supervisor's log files write it.
    static func format(_ line: LogLine) -> String {
        let seconds = line.time.rounded(.down)
        let nanoseconds = Int32(max(0, min(999_999_999, (line.time - seconds) * 1e9)))
        let time = WallClockTime(seconds: Int64(seconds), nanoseconds: nanoseconds)
        return "\(time.rfc3339) \(line.instance) \(line.stream) \(line.text)"
    }
}
