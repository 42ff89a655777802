import ArgumentParser
import ControlProtocol
import Glibc

/// `ringmaster metrics`.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a running supervisor's metrics in the Prometheus text format (0.0.4).",
        discussion: """
            The same text a manifest's `metrics: { listen: HOST:PORT }` serves at \
            http://HOST:PORT/metrics, fetched over the control socket instead: per instance \
            records, bytes, restarts, exits by reason, ring fill, time blocked, quarantines and \
            state; per consumer records, errors, lag and queued batches (docs/METRICS.md). \
            Exit codes: 0; 1 the supervisor refused; 2 usage error; 3 no supervisor reachable.
            """
    )

    @OptionGroup var options: ControlOptions

    func run() throws {
        let response = try request(ControlRequest(cmd: "metrics"), options)
        guard let text = response.metrics else {
            Terminal.error("the supervisor answered without metrics (is it older than this ringmaster?)")
            throw ExitCode(1)
        }
        // The exposition already ends with a newline: written as it is.
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ExitCode(1) }
            bytes = bytes.dropFirst(n)
        }
    }
}
