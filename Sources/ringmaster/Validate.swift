import ArgumentParser
import Manifest
import Supervisor

/// `ringmaster validate FILE`: check a manifest and print every error at once.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a manifest; print every error with file:line:column.",
        discussion: "Exit codes: 0 valid; 2 invalid (every error is printed)."
    )

    @Argument(help: "The manifest (YAML).")
    var manifest: String

    func run() throws {
        do throws(ManifestErrors) {
            let loaded = try Manifest.load(path: manifest, resolver: .forCurrentProcess())
            let consumerErrors = ConsumerFactory.check(loaded)
            guard consumerErrors.isEmpty else { throw ManifestErrors(consumerErrors) }
            print("\(manifest): valid (\(counted(loaded.workers.count, "worker")), \(counted(loaded.consumers.count, "consumer")))")
        } catch {
            for item in error.errors { Terminal.error("\(item)") }
            throw ExitCode(2)
        }
    }
}

/// `1 worker`, `2 workers`.
private func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
