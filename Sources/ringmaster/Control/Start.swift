import ArgumentParser
import ControlProtocol

/// `ringmaster start WORKER[.INSTANCE]`.
struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a stopped (held, finished or failed) worker, or one instance; its restart budget starts over.",
        discussion: "Exit codes: 0 done (or nothing to do); 1 refused (no such worker); 2 usage error; 3 no supervisor reachable."
    )

    @Argument(help: "WORKER or WORKER.INSTANCE (e.g. walker or walker.1).")
    var target: String

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "start", target: target), options)
        say(response.message ?? "done")
    }
}
