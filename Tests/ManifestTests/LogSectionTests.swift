import Manifest
import Testing

/// The `log` block: a worker's own output file, its size limit and rotated files kept.
let logCases: [Invalid] = [
    Invalid("max_size below 4KiB", worker("log: { path: w.log, max_size: 1KiB }"),
            "m.yaml:5:35: workers.w.log.max_size must be at least 4KiB (got 1KiB)"),
    Invalid("max_size in decimal units", worker("log: { path: w.log, max_size: 10MB }"),
            "m.yaml:5:35: workers.w.log.max_size must be a size such as 4096, 64KiB or 4MiB (got '10MB'; units are B, KiB, MiB, GiB or TiB)"),
    Invalid("keep above 100", worker("log: { path: w.log, keep: 101 }"),
            "m.yaml:5:31: workers.w.log.keep must be an integer from 0 to 100 (got 101)"),
    Invalid("keep negative", worker("log: { path: w.log, keep: -1 }"),
            "m.yaml:5:31: workers.w.log.keep must be an integer from 0 to 100 (got -1)"),
    Invalid("keep a word", worker("log: { path: w.log, keep: all }"),
            "m.yaml:5:31: workers.w.log.keep must be an integer from 0 to 100 (got 'all')"),
    Invalid("path missing", worker("log: { keep: 3 }"),
            "m.yaml:5:5: workers.w.log.path is missing (expected the file the worker's output lines are written to)"),
    Invalid("path empty", worker("log: { path: '' }"),
            "m.yaml:5:18: workers.w.log.path must be a file path (got '')"),
    Invalid("path a list", worker("log: { path: [a] }"),
            "m.yaml:5:18: workers.w.log.path must be a file path (got a list)"),
    Invalid("path is an existing directory", worker("log: { path: data }"),
            "m.yaml:5:18: workers.w.log.path 'data' is a directory; name a file (looked for \(Fixture.shared.manifestDirectory)/data)"),
    Invalid("path ends with a slash", worker("log: { path: logs/ }"),
            "m.yaml:5:18: workers.w.log.path 'logs/' is a directory; name a file (looked for \(Fixture.shared.manifestDirectory)/logs)"),
    Invalid("key misspelled, near miss", worker("log: { path: w.log, max-size: 1MiB }"),
            "m.yaml:5:25: workers.w.log.max-size is not a known key (did you mean 'max_size'?)"),
    Invalid("key unknown, nothing near", worker("log: { path: w.log, rotate: 1MiB }"),
            "m.yaml:5:25: workers.w.log.rotate is not a known key (expected one of path, max_size, keep)"),
    Invalid("log given as a bare path", worker("log: w.log"),
            "m.yaml:5:10: workers.w.log must be a map with path, max_size and keep (got 'w.log')"),
    Invalid("path in defaults", "version: 1\ndefaults:\n  log: { path: all.log }\n" + worker().dropFirst(11),
            "m.yaml:3:10: defaults.log.path is not allowed in defaults: every worker needs a log file of its own (set path in each worker's log)"),
    Invalid("max_size in defaults too small", "version: 1\ndefaults:\n  log: { max_size: 100 }\n" + worker().dropFirst(11),
            "m.yaml:3:20: defaults.log.max_size must be at least 4KiB (got 100)"),
    Invalid("defaults key misspelled", "version: 1\ndefaults:\n  logs: {}\n" + worker().dropFirst(11),
            "m.yaml:3:3: defaults.logs is not a known key (did you mean 'log'?)"),
    Invalid("defaults not a map", "version: 1\ndefaults: 5\n" + worker().dropFirst(11),
            "m.yaml:2:11: defaults must be a map with channel, restart, stop, log and stall_timeout (got 5)"),
    Invalid("two workers, one file",
            "version: 1\nworkers:\n  a:\n    command: ringmaster-walk\n    log: { path: out.log }\n"
                + "  b:\n    command: ringmaster-walk\n    log: { path: ./sub/../out.log }\n",
            "m.yaml:8:18: workers.b.log.path names the log file of worker a too (\(Fixture.shared.manifestDirectory)/out.log); every worker needs a file of its own"),
]

@Suite("The log block")
struct LogSectionTests {
    let fixture = Fixture.shared

    func at(_ line: Int, _ column: Int) -> SourcePosition {
        SourcePosition(file: "m.yaml", line: line, column: column)
    }

    @Test(arguments: logCases)
    func invalid(_ row: Invalid) {
        #expect(errorDescriptions(row.yaml) == row.expected)
    }

    @Test func withoutLogAWorkerHasNoFile() throws {
        let w = try #require(try parse(worker()).workers.first)
        #expect(w.log == nil)
    }

    @Test func aPathAloneTakesTheBuiltInDefaults() throws {
        let w = try #require(try parse(worker("log: { path: w.log }")).workers.first)
        #expect(w.log == LogSpec(path: fixture.manifestDirectory + "/w.log", maxSize: 10 << 20, keep: 5, position: at(5, 18)))
        #expect(LogSpec.defaultMaxSize == 10 << 20 && LogSpec.defaultKeep == 5)
    }

    @Test func theLimitsOfTheRangesAreAccepted() throws {
        let low = try #require(try parse(worker("log: { path: /var/log/w.log, max_size: 4096, keep: 0 }")).workers.first)
        #expect(low.log == LogSpec(path: "/var/log/w.log", maxSize: 4096, keep: 0, position: at(5, 18)))
        let high = try #require(try parse(worker("log: { path: logs/../w.log, max_size: 1GiB, keep: 100 }")).workers.first)
        #expect(high.log == LogSpec(path: fixture.manifestDirectory + "/w.log", maxSize: 1 << 30, keep: 100, position: at(5, 18)))
    }

    /// `defaults.log` gives max_size and keep; each worker's own log names its file and may
    /// override either; a worker without log writes no file even with defaults.log.
    @Test func defaultsApplyFieldByFieldAndNeverMakeAFileAlone() throws {
        let manifest = try parse("""
            version: 1
            defaults:
              log: { max_size: 1MiB, keep: 2 }
            workers:
              a:
                command: ringmaster-walk
                log: { path: a.log }
              b:
                command: ringmaster-walk
                log: { path: /tmp/b.log, keep: 0 }
              c:
                command: ringmaster-walk
                log: { path: c.log, max_size: 64KiB }
              d:
                command: ringmaster-walk

            """)
        let logs = manifest.workers.map(\.log)
        #expect(logs == [
            LogSpec(path: fixture.manifestDirectory + "/a.log", maxSize: 1 << 20, keep: 2, position: at(7, 18)),
            LogSpec(path: "/tmp/b.log", maxSize: 1 << 20, keep: 0, position: at(10, 18)),
            LogSpec(path: fixture.manifestDirectory + "/c.log", maxSize: 64 << 10, keep: 2, position: at(13, 18)),
            nil,
        ])
    }

    @Test func differentFilesForEveryWorkerAreFine() throws {
        let manifest = try parse("""
            version: 1
            workers:
              a:
                command: ringmaster-walk
                log: { path: out.log }
              b:
                command: ringmaster-walk
                log: { path: out.log.b }

            """)
        #expect(manifest.workers.compactMap(\.log?.path) == [fixture.manifestDirectory + "/out.log",
                                                             fixture.manifestDirectory + "/out.log.b"])
    }
}
