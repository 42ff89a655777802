import LoopKit
import Testing

/// Runs one child to its end on a fresh loop and records what it reported, in order.
final class ChildRun {
    /// Every output line, in arrival order.
    var lines: [(stream: ChildProcess.OutputStream, text: String)] = []
    var exit: ProcessExit?
    /// Set if any line arrived after the exit was reported (the contract says never).
    var outputAfterExit = false
    var pid: Int32 = 0

    var stdout: [String] { lines.filter { $0.stream == .stdout }.map(\.text) }
    var stderr: [String] { lines.filter { $0.stream == .stderr }.map(\.text) }

    /// Spawns with `options`, runs the loop until `onExit` (or the watchdog), and returns the record.
    /// `onLine` and `started` may act on the child while it runs.
    static func run(
        _ options: SpawnOptions,
        onLine: ((ChildProcess, ChildProcess.OutputStream, String) -> Void)? = nil,
        started: ((ChildProcess) -> Void)? = nil
    ) throws -> ChildRun {
        let record = ChildRun()
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        var child: ChildProcess?
        child = try ChildProcess.spawn(loop: loop, options: options, onOutput: { stream, line in
            if record.exit != nil { record.outputAfterExit = true }
            record.lines.append((stream, line))
            if let child { onLine?(child, stream, line) }
        }, onExit: { exit in
            record.exit = exit
            guardTimer.close()
        })
        record.pid = child!.pid
        started?(child!)
        loop.run()
        if record.exit == nil { child?.killGroup(.kill) }  // the watchdog fired: leave no stray
        return record
    }
}

/// `/bin/sh -c script` with `environment` (PATH set so the script finds the usual tools).
func shell(
    _ script: String, environment: [String: String] = ["PATH": "/usr/bin:/bin"],
    configure: (inout SpawnOptions) -> Void = { _ in }
) -> SpawnOptions {
    var options = SpawnOptions(executable: "/bin/sh", arguments: ["-c", script], environment: environment)
    configure(&options)
    return options
}
