import Testing
import Glibc
import LoopKit
import SystemKit

/// The body of a thread started by `startThread`.
private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts a POSIX thread running `body`; join it with `pthread_join`.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    var thread = pthread_t()
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    let result = pthread_create(&thread, nil, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    precondition(result == 0, "pthread_create: \(result)")
    return thread
}

/// A close-on-exec pipe (pipe2 is not in Swift's Glibc module: pipe, then FD_CLOEXEC).
func makePipe() throws -> (read: FileDescriptor, write: FileDescriptor) {
    var fds: [CInt] = [-1, -1]
    try valueOrErrno("pipe") { pipe(&fds) }
    let ends = (read: FileDescriptor(rawValue: fds[0]), write: FileDescriptor(rawValue: fds[1]))
    try ends.read.setClosesOnExec(true)
    try ends.write.setClosesOnExec(true)
    return ends
}

/// Writes all of `text` to `descriptor`.
func write(_ text: String, to descriptor: FileDescriptor) throws {
    let bytes = Array(text.utf8)
    let written = try valueOrErrno("write") { bytes.withUnsafeBytes { Glibc.write(descriptor.rawValue, $0.baseAddress, $0.count) } }
    precondition(written == bytes.count, "short write to a fresh pipe")
}

/// A small file's contents (for /proc), nil when it cannot be opened.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Stops `loop` after `limit` if the test has not finished by then: a hang becomes a failure.
/// The watchdog is a `LoopKit.Timer`; close it when done so the loop can run out.
func watchdog(_ loop: Loop, after limit: Duration = .seconds(60)) -> LoopKit.Timer {
    let timer = LoopKit.Timer(loop: loop)
    timer.start(after: limit) { [unowned loop] in
        Issue.record("watchdog: the loop was still running after \(limit)")
        loop.stop()
    }
    return timer
}

/// Whether process `pid` is gone or a zombie within `limit` (polled; a bounded wait, not a timing assertion).
func waitUntilGone(_ pid: Int32, limit: Duration = .seconds(30)) -> Bool {
    let deadline = MonotonicClock.now() + UInt64(limit.components.seconds) * 1_000_000_000
    while MonotonicClock.now() < deadline {
        let state = readSmallFile("/proc/\(pid)/stat")?.split(separator: " ").dropFirst(2).first
        if state == nil || state == "Z" { return true }
        usleep(1000)
    }
    return false
}
