import ArgumentParser
import ControlProtocol
import Glibc
import SystemKit

/// `ringmaster top`: the `status` table, refreshed in place until `q`.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of a running supervisor: the status table, refreshed in place.",
        discussion: """
            Connects once and asks for the status every --interval seconds; shows the same \
            figures as `ringmaster status` on the terminal's alternate screen, each line cut to \
            the terminal's width. Keys: q quits (so do Ctrl-C, SIGTERM and SIGHUP); Ctrl-Z \
            suspends. RATE/S is computed by top itself from the RECORDS it saw over the last \
            second or more of refreshes (over the previous refresh when the interval is longer), \
            so other status clients do not change it; the first frame shows the supervisor's \
            own rate. Not a terminal (standard output redirected): prints one frame, like \
            `status`, and exits 0. Exit codes: 0 quit; 1 the supervisor refused the status \
            request; 2 usage error; 3 no supervisor reachable, or it went away while shown \
            (the terminal is restored first, then the reason printed).
            """
    )

    @Option(name: .long, help: "Seconds between refreshes (at least 0.1).")
    var interval: Double = 1.0

    @OptionGroup var options: ControlOptions

    func validate() throws {
        guard interval >= 0.1 && interval <= 86_400 else {
            throw ValidationError("--interval must be 0.1...86400 seconds (got \(interval))")
        }
    }

    func run() throws {
        let client = try ControlClient(path: try options.socketPath())
        guard TerminalScreen.isTerminal(1) else {
            let report: StatusReport
            do {
                report = try Self.status(client)
            } catch let refused as Refused {
                Terminal.error(refused.message)
                throw ExitCode(1)
            }
            say(StatusTable.header(report))
            for line in StatusTable.lines(report) { say(line) }
            return
        }
        client.quiet = true
        let screen: TerminalScreen
        do {
            screen = try TerminalScreen()
        } catch {
            Terminal.error("top: cannot watch signals: \(error)")
            throw ExitCode(3)
        }
        let outcome = view(client, on: screen)
        screen.restore()
        switch outcome {
        case .quit:
            return
        case .failed(let message, let code):
            Terminal.error(message)
            throw ExitCode(code)
        }
    }

    private enum Outcome {
        case quit
        case failed(String, Int32)
    }

    /// The loop: ask, draw, wait for a key, a signal or the next refresh.
    private func view(_ client: ControlClient, on screen: TerminalScreen) -> Outcome {
        var rates = RateTracker()
        let footer = "q quit   refresh every \(interval)s   \(client.path)"
        let period = UInt64(interval * 1e9)
        while true {
            var report: StatusReport
            do {
                report = try Self.status(client)
            } catch let refused as Refused {
                return .failed(refused.message, 1)
            } catch let exit as ExitCode {
                return .failed(client.lastError ?? "the supervisor at \(client.path) went away", exit.rawValue)
            } catch {
                return .failed("the supervisor at \(client.path) answered something unreadable: \(error)", 3)
            }
            let asked = MonotonicClock.now()
            rates.apply(to: &report, at: asked)
            let lines = [StatusTable.header(report), ""] + StatusTable.lines(report)
            screen.draw(lines, footer: footer)
            // Wait out the interval, redrawing on a resize and leaving on q or a quit signal.
            while true {
                let now = MonotonicClock.now()
                guard now &- asked < period else { break }
                let events = screen.wait(milliseconds: Int((period - (now &- asked) + 999_999) / 1_000_000))
                for event in events {
                    switch event {
                    case .key(let byte) where byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 0x03:
                        return .quit
                    case .quit:
                        return .quit
                    case .resized:
                        screen.readSize()
                        screen.draw(lines, footer: footer)
                    case .suspend:
                        screen.suspend()
                        screen.draw(lines, footer: footer)
                    case .key, .inputClosed:
                        break
                    }
                }
            }
        }
    }

    /// A `status` the supervisor refused (not expected of a live one).
    private struct Refused: Error {
        let message: String
    }

    private static func status(_ client: ControlClient) throws -> StatusReport {
        let response = try client.send(ControlRequest(cmd: "status"))
        guard response.ok, let report = response.status else {
            throw Refused(message: response.error ?? "the supervisor refused the status request")
        }
        return report
    }
}
