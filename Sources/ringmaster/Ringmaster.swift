import ArgumentParser

/// The `ringmaster` command line.
@main
struct Ringmaster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringmaster",
        abstract: "A process supervisor whose workers stream records through shared-memory rings.",
        discussion: """
            Exit codes: 0 success; 1 the run failed (a record was lost, corrupt or out of order, or \
            a producer misbehaved); 2 usage error.
            """,
        version: "0.1.0",
        subcommands: [Demo.self],
        defaultSubcommand: nil
    )
}
