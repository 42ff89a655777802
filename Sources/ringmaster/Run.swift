import ArgumentParser
import Glibc
import ControlProtocol
import Logging
import RingChannel
import Manifest
import Supervisor

/// `ringmaster run FILE`: supervise the manifest's workers until they finish or a signal ends the run.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the workers of a manifest, routing their records to its consumers.",
        discussion: """
            Ends when every worker has finished (batch jobs) or on SIGINT/SIGTERM (a second \
            SIGINT skips the grace period). Exit codes: 0 success; 1 a worker failed; \
            2 manifest, consumer (plugin) or usage error; 3 the run could not start; \
            4 a consumer stopped after an error (on_error) and did not get every record.
            """
    )

    @Argument(help: "The manifest (YAML).")
    var manifest: String

    @OptionGroup var logging: LoggingOptions

    @Option(name: .long, help: "The control socket (default: $XDG_RUNTIME_DIR/ringmaster/NAME-HASH.sock, else .NAME.ringmaster.sock beside the manifest).")
    var control: String?

    @Flag(name: .long, help: "Serve no control socket.")
    var noControl = false

    func run() throws {
        // SIGHUP (reload) and SIGUSR1 (reopen log files) must not end the supervisor while it
        // starts: ignored until the loop watches them (workers get default dispositions back).
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        let logger = LogSetup.bootstrap(level: logging.logLevel)
        let loaded: Manifest
        do {
            loaded = try Manifest.load(path: manifest, resolver: .forCurrentProcess())
        } catch {
            for item in error.errors { Terminal.error("\(item)") }
            throw ExitCode(2)
        }
        var options = Supervisor.Options()
        if !noControl {
            options.controlPath = control ?? ControlPath.forManifest(manifest, environment: ProcessEnvironment.current())
            options.controlRequired = control != nil
        }
        let supervisor: Supervisor
        do {
            supervisor = try Supervisor(manifest: loaded, options: options, logger: logger)
        } catch {
            Terminal.error("\(error)")
            if case .consumers = error { throw ExitCode(2) }
            throw ExitCode(3)
        }
        let outcome = supervisor.run()
        if outcome != .success { throw ExitCode(outcome.rawValue) }
    }
}
