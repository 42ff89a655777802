import ArgumentParser
import ControlProtocol

/// `ringmaster scale WORKER N`.
struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grow or shrink a worker's pool at runtime.",
        discussion: """
            Growing starts the new instances on new rings at once; shrinking stops the highest \
            instances gracefully and removes them. Running instances are not restarted (they see \
            the new size in RINGMASTER_INSTANCES at their next start). Exit codes: 0 done; 1 \
            refused; 2 usage error; 3 no supervisor reachable.
            """
    )

    @Argument(help: "The worker.")
    var worker: String

    @Argument(help: "The pool size, 1...1024.")
    var count: Int

    @OptionGroup var options: ControlOptions

    func validate() throws {
        guard (1...1024).contains(count) else { throw ValidationError("the pool size must be 1...1024 (got \(count))") }
    }

    func run() throws {
        let response = try request(ControlRequest(cmd: "scale", target: worker, count: count), options)
        say(response.message ?? "done")
    }
}
