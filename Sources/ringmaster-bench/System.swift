import CShim
import Glibc
import RingChannel

// The few system calls the benchmark makes itself (pipes, sockets, eventfds, a shared slot),
// each retrying EINTR and failing with the call's name. The ring's own calls stay in RingChannel.

/// A failed benchmark step: what went wrong, in words.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// A system call that failed with the current `errno`.
    static func system(_ call: String) -> BenchFailure {
        BenchFailure("\(call): \(Errno.current)")
    }
}

/// Writes to standard error without Foundation (and without the global `stderr`, which Swift 6 rejects).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = try? writeAll(2, UnsafeRawBufferPointer(bytes)) }
}

/// Writes every byte, continuing after short writes and EINTR.
func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws(BenchFailure) {
    guard var pointer = bytes.baseAddress else { return }
    var left = bytes.count
    while left > 0 {
        let n = write(fd, pointer, left)
        if n < 0 {
            if errno == EINTR { continue }
            throw .system("write(\(fd))")
        }
        pointer += n
        left -= n
    }
}

/// Reads up to `count` bytes; 0 means end of file.
@inline(__always)
func readSome(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(BenchFailure) -> Int {
    while true {
        let n = read(fd, buffer, count)
        if n >= 0 { return n }
        if errno != EINTR { throw .system("read(\(fd))") }
    }
}

/// Writes one byte of the control protocol.
func sendByte(_ fd: CInt, _ byte: UInt8) throws(BenchFailure) {
    var byte = byte
    try withUnsafeBytes(of: &byte) { (raw) throws(BenchFailure) in try writeAll(fd, raw) }
}

/// Reads one byte of the control protocol; nil at end of file.
func receiveByte(_ fd: CInt) throws(BenchFailure) -> UInt8? {
    var byte: UInt8 = 0
    let n = try withUnsafeMutableBytes(of: &byte) { (raw) throws(BenchFailure) in try readSome(fd, raw.baseAddress!, 1) }
    return n == 1 ? byte : nil
}

/// Reads until end of file (the producer's report), at most 4 KiB.
func readToEnd(_ fd: CInt) throws(BenchFailure) -> String {
    let capacity = 4096
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    defer { buffer.deallocate() }
    var held = 0
    while held < capacity {
        let n = try readSome(fd, buffer + held, capacity - held)
        if n == 0 { break }
        held += n
    }
    return String(decoding: UnsafeRawBufferPointer(start: buffer, count: held), as: UTF8.self)
}

/// A pipe, both ends close-on-exec.
func makePipe() throws(BenchFailure) -> (read: CInt, write: CInt) {
    var ends: [CInt] = [-1, -1]
    guard pipe(&ends) == 0 else { throw .system("pipe") }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (ends[0], ends[1])
}

/// A connected pair of Unix stream sockets, both close-on-exec.
func makeSocketPair() throws(BenchFailure) -> (CInt, CInt) {
    var ends: [CInt] = [-1, -1]
    let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw .system("socketpair") }
    return (ends[0], ends[1])
}

/// A blocking, close-on-exec eventfd: the handoff sleeps in `read` like the classic recipe's event wait.
func makeBlockingEventFD() throws(BenchFailure) -> CInt {
    let fd = cshim_eventfd(0, 0, 1)
    guard fd >= 0 else { throw .system("eventfd") }
    return fd
}

/// Adds one to an eventfd's counter.
@inline(__always)
func eventSignal(_ fd: CInt) throws(BenchFailure) {
    var one: UInt64 = 1
    while write(fd, &one, 8) != 8 {
        if errno != EINTR { throw .system("write(eventfd \(fd))") }
    }
}

/// Sleeps in `read` until an eventfd's counter is non-zero, and resets it.
@inline(__always)
func eventWait(_ fd: CInt) throws(BenchFailure) {
    var value: UInt64 = 0
    while read(fd, &value, 8) != 8 {
        if errno != EINTR { throw .system("read(eventfd \(fd))") }
    }
}

/// A copy of `fd` numbered 50 or above without close-on-exec, for a child to inherit at the same
/// number. Above the ring contract's 3, 4, 5 and below the spawner's staging area at 100, so the
/// spawner's `dup2`s never land on it. The caller closes it once the child is started.
func inheritableCopy(_ fd: CInt) throws(BenchFailure) -> CInt {
    let copy = fcntl(fd, F_DUPFD, 50)
    guard copy >= 0 else { throw .system("fcntl(F_DUPFD)") }
    return copy
}

/// A shared mapping of `size` bytes over a fresh memfd (the handoff's slot); returns both.
func makeSharedSlot(size: Int) throws(BenchFailure) -> (fd: CInt, base: UnsafeMutableRawPointer) {
    let fd = cshim_memfd_create_sealable("ringmaster-bench:handoff", 1)
    guard fd >= 0 else { throw .system("memfd_create") }
    guard ftruncate(fd, off_t(size)) == 0 else { throw .system("ftruncate") }
    return (fd, try mapShared(fd, size: size))
}

/// Maps `size` bytes of `fd` read-write and shared.
func mapShared(_ fd: CInt, size: Int) throws(BenchFailure) -> UnsafeMutableRawPointer {
    guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
        throw .system("mmap")
    }
    return base
}

/// Seconds as a double, from a monotonic clock in nanoseconds.
func seconds(from start: UInt64, to end: UInt64) -> Double { Double(end &- start) / 1e9 }
