import ArgumentParser
import ControlProtocol

/// `ringmaster reload` (also SIGHUP to the supervisor).
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the manifest and apply the difference.",
        discussion: """
            Invalid manifest: nothing changes, the errors are printed (exit 1). Valid: new workers \
            start, removed ones stop, workers whose definition changed restart, pools whose size \
            alone changed are scaled, the rest keep running untouched. Consumers cannot change on \
            a reload. SIGHUP to the supervisor does the same. Exit codes: 0 applied; 1 refused; \
            2 usage error; 3 no supervisor reachable.
            """
    )

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "reload"), options)
        say(response.message ?? "reloaded")
    }
}
