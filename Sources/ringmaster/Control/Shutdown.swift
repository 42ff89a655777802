import ArgumentParser
import ControlProtocol

/// `ringmaster shutdown`.
struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop every worker gracefully and end the supervisor (as SIGTERM does).",
        discussion: "Exit codes: 0 shutdown begun; 3 no supervisor reachable."
    )

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "shutdown"), options)
        say(response.message ?? "shutting down")
    }
}
