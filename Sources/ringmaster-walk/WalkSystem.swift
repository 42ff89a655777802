import CShim
import Glibc
import SystemKit

// The walker's one syscall layer: every call it makes on the file system goes through here,
// retries EINTR, and reports failure as an `Errno` (an entry error is data, not a crash).

/// An open directory descriptor. The frame stack owns it and closes it.
struct DirectoryHandle: Equatable {
    /// The descriptor number.
    let rawValue: CInt
}

/// The (device, inode) pair that names a file; equal pairs are the same file.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}

/// The kind of an entry, as `file-entry` records carry it (docs/PROTOCOL.md §13).
enum EntryType: UInt8 {
    case unknown = 0, file, directory, symlink, blockDevice, characterDevice, fifo, socket

    /// From a `d_type` of `getdents64`.
    init(directoryEntryType type: UInt8) {
        switch CInt(type) {
        case CInt(DT_REG): self = .file
        case CInt(DT_DIR): self = .directory
        case CInt(DT_LNK): self = .symlink
        case CInt(DT_BLK): self = .blockDevice
        case CInt(DT_CHR): self = .characterDevice
        case CInt(DT_FIFO): self = .fifo
        case CInt(DT_SOCK): self = .socket
        default: self = .unknown
        }
    }

    /// From the file-type bits of `st_mode`.
    init(mode: UInt32) {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): self = .file
        case UInt32(S_IFDIR): self = .directory
        case UInt32(S_IFLNK): self = .symlink
        case UInt32(S_IFBLK): self = .blockDevice
        case UInt32(S_IFCHR): self = .characterDevice
        case UInt32(S_IFIFO): self = .fifo
        case UInt32(S_IFSOCK): self = .socket
        default: self = .unknown
        }
    }
}

/// The fields of a `stat` that a `file-entry` record carries.
struct EntryStatus {
    var type: EntryType
    var size: UInt64
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtimeNanoseconds: Int64
    var inode: UInt64
    var device: UInt64
    var links: UInt64

    var identity: FileIdentity { FileIdentity(device: device, inode: inode) }

    init(_ s: stat) {
        mode = UInt32(s.st_mode)
        type = EntryType(mode: mode)
        size = UInt64(bitPattern: Int64(s.st_size))
        uid = UInt32(s.st_uid)
        gid = UInt32(s.st_gid)
        mtimeNanoseconds = Int64(s.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(s.st_mtim.tv_nsec)
        inode = UInt64(s.st_ino)
        device = UInt64(s.st_dev)
        links = UInt64(s.st_nlink)
    }
}

enum WalkSystem {
    /// Runs `body` until it does not fail with EINTR; returns its result or throws its errno.
    @inline(__always)
    private static func retrying(_ body: () -> CInt) throws(Errno) -> CInt {
        while true {
            let result = body()
            if result != -1 { return result }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// The status of `name` in `directory` (or of the path `name` when `directory` is nil), of the
    /// link itself unless `follow`. The corresponding C function is `fstatat`.
    static func status(in directory: DirectoryHandle?, _ name: UnsafePointer<CChar>, follow: Bool) throws(Errno) -> EntryStatus {
        var s = stat()
        _ = try retrying { fstatat(directory?.rawValue ?? AT_FDCWD, name, &s, follow ? 0 : AT_SYMLINK_NOFOLLOW) }
        return EntryStatus(s)
    }

    /// The status of `name` in `directory`: of the link itself, or (`followingLinks`) of its
    /// target, falling back to the link when the target does not exist (a dangling link is still
    /// an entry, as in `find -L`).
    static func status(in directory: DirectoryHandle?, _ name: UnsafePointer<CChar>, followingLinks: Bool) throws(Errno) -> EntryStatus {
        guard followingLinks else { return try status(in: directory, name, follow: false) }
        do { return try status(in: directory, name, follow: true) } catch {
            guard error.rawValue == ENOENT else { throw error }
            return try status(in: directory, name, follow: false)
        }
    }

    /// The status of an open directory. The corresponding C function is `fstat`.
    static func status(of handle: DirectoryHandle) throws(Errno) -> EntryStatus {
        var s = stat()
        _ = try retrying { fstat(handle.rawValue, &s) }
        return EntryStatus(s)
    }

    /// Opens the directory `name` in `directory` (or the path `name`) for reading, close-on-exec;
    /// a symbolic link is refused (ELOOP/ENOTDIR) unless `follow`. The corresponding C function is `openat`.
    static func openDirectory(in directory: DirectoryHandle?, _ name: UnsafePointer<CChar>, follow: Bool) throws(Errno) -> DirectoryHandle {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW)
        return DirectoryHandle(rawValue: try retrying { openat(directory?.rawValue ?? AT_FDCWD, name, flags) })
    }

    /// Reads the next raw `linux_dirent64` records into `buffer`; 0 at the end.
    /// The corresponding C function is `getdents64`.
    static func readEntries(_ handle: DirectoryHandle, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        while true {
            let n = cshim_getdents64(handle.rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// Closes a directory the walker opened. The corresponding C function is `close`.
    static func close(_ handle: DirectoryHandle) {
        FileDescriptor(rawValue: handle.rawValue).close()
    }

    /// Whether `text` matches the shell pattern `glob` (no flags: `*` also matches `/`).
    /// Both must be NUL-terminated. The corresponding C function is `fnmatch`.
    static func matches(glob: UnsafePointer<CChar>, _ text: UnsafePointer<CChar>) -> Bool {
        fnmatch(glob, text, 0) == 0
    }

    /// Bytewise comparison of `count` bytes. The corresponding C function is `memcmp`.
    @inline(__always)
    static func compareBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> CInt {
        memcmp(a, b, count)
    }

    /// Writes one line to standard error (usage errors, fatal ring errors).
    static func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }

    /// Writes text to standard output (`--help`).
    static func printOutput(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
    }

    /// Ends the process at once with SIGKILL (the test-only crash switch).
    static func killSelf() -> Never {
        kill(getpid(), SIGKILL)
        while true { pause() }
    }

    /// Ends the process with `status`.
    static func exit(_ status: CInt) -> Never { Glibc.exit(status) }

    /// The process's environment variable `name`, if set.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The raw bytes of the process's arguments after argv[0] (names need not be UTF-8).
    static func argumentBytes() -> [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { index in
            guard let pointer = CommandLine.unsafeArgv[index] else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
        }
    }

    /// The CPUs this process may run on. The corresponding C function is `sched_getaffinity`.
    static func allowedCPUs() -> Int { Int(cshim_allowed_cpu_count()) }

    /// The errno value for "too many levels of symbolic links", used for directory loops.
    static let loopErrno = Errno(rawValue: ELOOP)
    /// The errno value for a path too long for one record.
    static let nameTooLongErrno = Errno(rawValue: ENAMETOOLONG)
    /// ENOENT: a directory that went away under the walk.
    static let noSuchFileErrno = Errno(rawValue: ENOENT)
}
