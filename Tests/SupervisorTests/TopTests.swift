import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// `ringmaster top` in a real terminal: tmux runs it in a pane of a private server (its own
/// socket in a scratch directory, `-S`, no configuration file), so a user's tmux is never touched. The pane runs
/// `/bin/sh -c 'top …; stty -a > FILE; echo "top exited $status"; read line'`: the shell stays,
/// and once tmux shows the `top exited` line it has also taken in everything top wrote before,
/// so a test reads top's exit status, whether the pane is still on the alternate screen, whether
/// the cursor is shown, the screen top left behind and the terminal modes (`stty -a`) after it.
@Suite(.serialized) struct TopTests {
    static let manifest = """
        version: 1
        workers:
          w:
            command: ringmaster-test-producer
            args: ["--records", "0", "--forever", "--sleep-ms", "10"]
            instances: 2
            format: bytes
            to: [sink]
        consumers:
          sink: { plugin: discard }
        """

    /// How top is asked to quit: a key (tmux `send-keys` names) or a signal to its process.
    enum Quit: String, CaseIterable, CustomTestStringConvertible {
        case q, ctrlC = "C-c", sigterm
        var testDescription: String { rawValue }
    }

    @Test(arguments: Quit.allCases)
    func quitsAndRestoresTheTerminal(how: Quit) throws {
        guard let tmux = Tmux() else { return }
        defer { tmux.killServer() }
        let run = try SupervisorRun(manifest: Self.manifest)
        defer { stop(run) }
        try #require(run.awaitLog("started w.1"), "stderr: \(run.stderr.suffix(2000))")
        try tmux.start(top: ["-m", run.scratch.file("manifest.yaml"), "--interval", "0.2"], scratch: run.scratch)

        let screen = try #require(tmux.awaitScreen { screen in
            ["ringmaster pid \(run.process.pid)", "INSTANCE", "w.0", "w.1", "running", "q quit"].allSatisfy(screen.contains)
        }, "top never showed both instances running; screen:\n\(tmux.capture())")
        #expect(tmux.pane("alternate_on") == "1", "top draws on the alternate screen")
        #expect(tmux.pane("cursor_flag") == "0", "the cursor is hidden while top runs")
        #expect(screen.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(39).first?.contains("q quit") == true,
                "the footer is on the last of 40 rows:\n\(screen)")
        let rows = screen.split(separator: "\n").filter { $0.hasPrefix("w.") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.contains("running") }, "\(rows)")

        switch how {
        case .q, .ctrlC: tmux.sendKeys(how.rawValue)
        case .sigterm: kill(try #require(tmux.topPID(), "top's pid not found under the pane"), SIGTERM)
        }
        let status = try #require(tmux.awaitExit(), "top did not end after \(how.rawValue); screen:\n\(tmux.capture())")
        #expect(status == 0)
        expectRestored(tmux, run.scratch)
        #expect(!tmux.capture().contains("INSTANCE"), "the table stays on the alternate screen, gone after exit")
    }

    /// A resize reaches top (SIGWINCH): the next frame fits the new size, footer on its last row.
    @Test func redrawsAtTheNewSize() throws {
        guard let tmux = Tmux() else { return }
        defer { tmux.killServer() }
        let run = try SupervisorRun(manifest: Self.manifest)
        defer { stop(run) }
        try #require(run.awaitLog("started w.1"), "stderr: \(run.stderr.suffix(2000))")
        try tmux.start(top: ["-m", run.scratch.file("manifest.yaml")], scratch: run.scratch)
        _ = try #require(tmux.awaitScreen { $0.contains("w.1") }, "no frame; screen:\n\(tmux.capture())")
        tmux.command(["resize-window", "-t", tmux.session, "-x", "60", "-y", "12"])
        let resized = tmux.awaitScreen { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count >= 12 && lines[11].hasPrefix("q quit")
        }
        #expect(resized != nil, "footer not on row 12 after the resize:\n\(tmux.capture())")
        tmux.sendKeys("q")
        #expect(tmux.awaitExit() == 0)
        expectRestored(tmux, run.scratch)
    }

    /// The supervisor ends while top shows it: the terminal is restored, then the reason is
    /// printed on the normal screen, and top exits 3.
    @Test func supervisorGoingAwayExits3WithAMessage() throws {
        guard let tmux = Tmux() else { return }
        defer { tmux.killServer() }
        let run = try SupervisorRun(manifest: Self.manifest)
        defer { stop(run) }
        try #require(run.awaitLog("started w.1"), "stderr: \(run.stderr.suffix(2000))")
        try tmux.start(top: ["-m", run.scratch.file("manifest.yaml"), "--interval", "0.2"], scratch: run.scratch)
        _ = try #require(tmux.awaitScreen { $0.contains("w.1") && $0.contains("running") }, "no frame; screen:\n\(tmux.capture())")

        run.process.kill(SIGTERM)
        #expect(run.finish() == .exited(0))
        let status = try #require(tmux.awaitExit(), "top outlived its supervisor; screen:\n\(tmux.capture())")
        #expect(status == 3)
        expectRestored(tmux, run.scratch)
        let after = tmux.capture()
        #expect(after.contains("closed the connection") || after.contains("cannot write to the supervisor"),
                "no reason printed after the terminal was restored:\n\(after)")
    }

    /// Standard output not a terminal: one frame, as `status` prints it, no escape sequences, exit 0.
    @Test func printsOneFrameWhenNotATerminal() throws {
        let run = try SupervisorRun(manifest: Self.manifest)
        defer { stop(run) }
        try #require(run.awaitLog("started w.1"), "stderr: \(run.stderr.suffix(2000))")
        let top = try runToEnd(ringmasterPath, ["top", "-m", run.scratch.file("manifest.yaml")], in: Scratch(), limit: 30)
        #expect(top.status == .exited(0), "stderr: \(top.stderr)")
        #expect(top.stdout.hasPrefix("ringmaster pid \(run.process.pid),"))
        #expect(top.stdout.contains("\nw.0 ") && top.stdout.contains("\nw.1 "))
        #expect(!top.stdout.contains("\u{1B}"), "escape sequences in a non-terminal frame")
    }

    @Test func refusesAnIntervalBelowATenth() throws {
        let top = try runToEnd(ringmasterPath, ["top", "--control", "/nonexistent.sock", "--interval", "0.05"], in: Scratch(), limit: 30)
        #expect(top.status == .exited(2))
        #expect(top.stderr.contains("--interval must be"))
    }

    private func expectRestored(_ tmux: Tmux, _ scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(tmux.pane("alternate_on") == "0", "still on the alternate screen", sourceLocation: sourceLocation)
        #expect(tmux.pane("cursor_flag") == "1", "the cursor is still hidden", sourceLocation: sourceLocation)
        let modes = scratch.read("stty.txt").split(whereSeparator: \.isWhitespace)
        #expect(modes.contains("icanon") && modes.contains("echo"),
                "canonical mode and echo not restored: \(scratch.read("stty.txt"))", sourceLocation: sourceLocation)
    }

    private func stop(_ run: SupervisorRun) {
        guard run.process.poll() == nil else { return }
        run.process.kill(SIGTERM)
        run.finish()
    }
}

/// A private tmux server for one test, with one session.
final class Tmux {
    let path: String
    let session = "top"
    /// Holds the server's socket (so nothing is left in /tmp/tmux-UID) and the client's output.
    private let scratch = Scratch()

    /// nil, with a failed test, when tmux is not installed.
    init?(sourceLocation: SourceLocation = #_sourceLocation) {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        let candidates: [String] = directories.map { directory in String(directory) + "/tmux" }
        guard let found = candidates.first(where: { candidate in Glibc.access(candidate, X_OK) == 0 }) else {
            Issue.record("tmux is not installed: `ringmaster top` is tested in a real terminal through tmux (`make deps` installs it, or apt-get install -y tmux)",
                         sourceLocation: sourceLocation)
            return nil
        }
        path = found
    }

    /// Starts `ringmaster top ARGUMENTS` in a 160 × 40 pane; `stty -a` goes to `stty.txt` in `scratch` after it ends.
    func start(top arguments: [String], scratch: Scratch) throws {
        let quoted = ([ringmasterPath, "top"] + arguments).map(shellQuoted).joined(separator: " ")
        // The shell must survive the Ctrl-C that reaches the whole foreground group; a trap (unlike
        // an ignored signal) is not inherited, so top gets SIGINT as usual.
        let script = "trap true INT; \(quoted); status=$?; stty -a > \(shellQuoted(scratch.file("stty.txt"))); echo \"top exited $status\"; read line"
        let started = command(["new-session", "-d", "-s", session, "-x", "160", "-y", "40", "/bin/sh", "-c", script])
        try #require(started.status == .exited(0), "tmux new-session failed: \(started.output)")
    }

    /// Runs `tmux -S SOCKET ARGUMENTS`; its exit status and output (stdout and stderr).
    @discardableResult
    func command(_ arguments: [String]) -> (status: RingmasterTestSupport.ExitStatus, output: String) {
        let out = open(scratch.file("out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(out) }
        guard let process = try? SpawnedProcess.spawn(path, ["-S", scratch.file("tmux.sock"), "-f", "/dev/null"] + arguments, stdoutTo: out, stderrTo: out) else {
            return (.exited(127), "cannot start \(path)")
        }
        var waited = 0.0
        while process.poll() == nil && waited < 10 {
            usleep(10_000)
            waited += 0.01
        }
        if process.poll() == nil {
            process.kill(SIGKILL)
            process.wait()
        }
        return (process.wait(), scratch.read("out"))
    }

    /// The pane's visible screen, wrapped lines joined.
    func capture() -> String { command(["capture-pane", "-p", "-J", "-t", session]).output }

    /// A pane format variable (`alternate_on`, `cursor_flag`, `pane_pid`, …).
    func pane(_ variable: String) -> String {
        command(["display-message", "-p", "-t", session, "#{\(variable)}"]).output.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines)
    }

    func sendKeys(_ keys: String) { command(["send-keys", "-t", session, keys]) }

    /// Waits (bounded) until the screen satisfies `done`; that screen, or nil.
    func awaitScreen(limit: Double = 30, _ done: (String) -> Bool) -> String? {
        var waited = 0.0
        while waited < limit {
            let screen = capture()
            if done(screen) { return screen }
            usleep(50_000)
            waited += 0.05
        }
        return nil
    }

    /// Waits (bounded) until the pane shows `top exited N`; N, or nil.
    func awaitExit(limit: Double = 30) -> Int? {
        guard let screen = awaitScreen(limit: limit, { $0.contains("top exited ") }),
              let range = screen.range(of: "top exited ") else { return nil }
        return Int(screen[range.upperBound...].prefix { $0.isNumber })
    }

    /// The pid of `ringmaster top`: the pane's shell's child.
    func topPID() -> pid_t? {
        guard let shell = Int32(pane("pane_pid")),
              let children = try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8) else { return nil }
        return children.split(separator: " ").compactMap { pid_t($0) }.first
    }

    func killServer() { command(["kill-server"]) }

    private func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
