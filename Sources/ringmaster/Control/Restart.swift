import ArgumentParser
import ControlProtocol

/// `ringmaster restart WORKER[.INSTANCE]`.
struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a worker, or one instance, gracefully, then start it again.",
        discussion: "Exit codes: 0 done (or nothing to do); 1 refused (no such worker); 2 usage error; 3 no supervisor reachable."
    )

    @Argument(help: "WORKER or WORKER.INSTANCE (e.g. walker or walker.1).")
    var target: String

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "restart", target: target), options)
        say(response.message ?? "done")
    }
}
