import ArgumentParser
import ControlProtocol
import Glibc

/// The `ringmaster` command line.
@main
struct Ringmaster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringmaster",
        abstract: "A process supervisor whose workers stream records through shared-memory rings.",
        discussion: """
            Exit codes of `run`: 0 success; 1 a worker failed (restart budget used up, or a failure \
            under policy never); 2 manifest or usage error; 3 the run could not start. The verbs \
            that talk to a running supervisor (status, start, stop, ...) exit 0 on success, 1 when \
            the supervisor refused the request, 3 when no supervisor is reachable.
            """,
        version: RingmasterVersion.current,
        subcommands: [Run.self, Validate.self, Status.self, Top.self, Start.self, Stop.self, Restart.self, Scale.self, Logs.self,
                      Reload.self, Shutdown.self, Metrics.self, Demo.self]
    )

    /// Parses and runs like `ParsableCommand.main()`, but usage errors exit 2 (as documented)
    /// instead of the parser's default 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Terminal.error(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every subcommand that reads a manifest shares.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard LogSetup.level(logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got \(logLevel))")
        }
    }
}
