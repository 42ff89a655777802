import ArgumentParser
import ControlProtocol

/// `ringmaster stop WORKER[.INSTANCE]`.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a worker, or one instance, gracefully; it stays stopped (and keeps the run alive) until `ringmaster start`.",
        discussion: "Exit codes: 0 done (or nothing to do); 1 refused (no such worker); 2 usage error; 3 no supervisor reachable."
    )

    @Argument(help: "WORKER or WORKER.INSTANCE (e.g. walker or walker.1).")
    var target: String

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "stop", target: target), options)
        say(response.message ?? "done")
    }
}
