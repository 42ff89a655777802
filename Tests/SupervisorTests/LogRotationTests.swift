import Foundation
import Glibc
import Supervisor
import TestHarness
import Testing

/// Size rotation as data, and the log file writer over a scratch directory with tiny sizes.
@Suite struct LogRotationTests {
    @Test func stepsShiftOldestFirstAndKeepAtMostKeepFiles() {
        #expect(LogRotation.steps(path: "/d/f", keep: 3) == [
            .remove("/d/f.3"),
            .rename(from: "/d/f.2", to: "/d/f.3"),
            .rename(from: "/d/f.1", to: "/d/f.2"),
            .rename(from: "/d/f", to: "/d/f.1"),
        ])
        #expect(LogRotation.steps(path: "/d/f", keep: 1) == [.remove("/d/f.1"), .rename(from: "/d/f", to: "/d/f.1")])
        #expect(LogRotation.steps(path: "/d/f", keep: 0) == [], "keep 0 truncates instead")
    }

    @Test(arguments: [
        (UInt64(0), 5000, false),   // an empty file takes any line
        (4000, 96, false),          // exactly max_size
        (4000, 97, true),
        (4096, 1, true),
    ])
    func rotationIsDueWhenTheLineWouldPassMaxSize(size: UInt64, line: Int, due: Bool) {
        #expect(LogRotation.isDue(size: size, adding: line, maxSize: 4096) == due)
    }

    /// Lines of 8 bytes, 100-byte files: 12 lines fit, the 13th rotates.
    static func lines(_ range: ClosedRange<Int>) -> [String] { range.map { "line \(String(format: "%02d", $0))\n" } }

    @Test func rotationKeepsFullFilesOfWholeLinesAndNeverMoreThanKeep() throws {
        let scratch = Scratch()
        var problems: [String] = []
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 100, keep: 2) { problems.append($0) }
        file.open()
        Self.lines(1...50).forEach(file.append)
        #expect(scratch.read("w.log.2") == Self.lines(25...36).joined())
        #expect(scratch.read("w.log.1") == Self.lines(37...48).joined())
        #expect(scratch.read("w.log") == Self.lines(49...50).joined())
        #expect(!FileManager.default.fileExists(atPath: scratch.file("w.log.3")))
        #expect(file.size == 16)
        #expect(problems.isEmpty)
    }

    @Test func keepZeroStartsTheFileOver() throws {
        let scratch = Scratch()
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 100, keep: 0) { Issue.record("\($0)") }
        file.open()
        Self.lines(1...50).forEach(file.append)
        #expect(scratch.read("w.log") == Self.lines(49...50).joined())
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["w.log"])
    }

    @Test func anExistingFileIsAppendedToAndItsSizeCounts() throws {
        let scratch = Scratch()
        scratch.write("w.log", String(repeating: "o", count: 89) + "\n")
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 100, keep: 3) { Issue.record("\($0)") }
        file.open()
        #expect(file.size == 90)
        file.append("line 01\n")  // 98: fits
        file.append("line 02\n")  // 106: rotates first
        #expect(scratch.read("w.log.1") == String(repeating: "o", count: 89) + "\nline 01\n")
        #expect(scratch.read("w.log") == "line 02\n")
    }

    @Test func aLineLongerThanMaxSizeGetsAFileOfItsOwn() throws {
        let scratch = Scratch()
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 100, keep: 5) { Issue.record("\($0)") }
        file.open()
        let long = String(repeating: "x", count: 150) + "\n"
        file.append("a\n")
        file.append(long)
        file.append("b\n")
        #expect(scratch.read("w.log.2") == "a\n")
        #expect(scratch.read("w.log.1") == long)
        #expect(scratch.read("w.log") == "b\n")
    }

    /// logrotate without copytruncate: it renames the file, then SIGUSR1 makes the writer create
    /// a new one. Until then lines go on into the renamed file: none is lost.
    @Test func reopenSwitchesToANewFileAtThePath() throws {
        let scratch = Scratch()
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 1 << 20, keep: 5) { Issue.record("\($0)") }
        file.open()
        file.append("a\n")
        #expect(rename(scratch.file("w.log"), scratch.file("w.log.moved")) == 0)
        file.append("b\n")
        file.reopen()
        file.append("c\n")
        #expect(scratch.read("w.log.moved") == "a\nb\n")
        #expect(scratch.read("w.log") == "c\n")
        #expect(file.size == 2)
    }

    @Test func aFileThatCannotBeOpenedIsReportedOnceAndRetriedByReopen() throws {
        let scratch = Scratch()
        var problems: [String] = []
        let path = scratch.file("later/w.log")
        let file = RotatingLogFile(path: path, maxSize: 4096, keep: 1) { problems.append($0) }
        file.open()
        file.append("lost\n")
        file.reopen()
        #expect(!file.isOpen)
        #expect(problems == ["cannot open log file \(path): open(\(path)): No such file or directory"])
        #expect(mkdir(scratch.file("later"), 0o755) == 0)
        file.reopen()
        file.append("kept\n")
        #expect(file.isOpen)
        #expect(scratch.read("later/w.log") == "kept\n")
        #expect(problems.count == 1)
    }

    @Test func aNewFileIsCreatedWithMode0644LessTheUmask() throws {
        let scratch = Scratch()
        let file = RotatingLogFile(path: scratch.file("w.log"), maxSize: 4096, keep: 1) { Issue.record("\($0)") }
        file.open()
        file.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.file("w.log"))
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint32Value
        #expect(mode == 0o644 & ~currentUmask())
    }
}

/// This process's umask, from /proc (reading it with umask(2) would change it for a moment).
func currentUmask() -> UInt32 {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") }
    return line.flatMap { UInt32($0.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8) } ?? 0o022
}
