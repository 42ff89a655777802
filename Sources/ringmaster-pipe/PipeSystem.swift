import CShim
import Glibc
import SystemKit

// ringmaster-pipe's one syscall layer for everything but the child process (CommandRunner.swift):
// reading the input, finding delimiters, descriptor flags, messages and exit.

enum PipeSystem {
    /// Reads up to `count` bytes into `buffer`; 0 at end of file. Retries EINTR.
    /// The corresponding C function is `read`.
    static func read(_ descriptor: FileDescriptor, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemError) -> Int {
        try valueOrErrno("read", descriptor == standardInput ? "standard input" : "the command's output") {
            Glibc.read(descriptor.rawValue, buffer, count)
        }
    }

    /// Moves `count` bytes from `source` to `target` (the ranges may overlap).
    /// The corresponding C function is `memmove`.
    static func move(_ target: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) {
        memmove(target, source, count)
    }

    /// Descriptor 0.
    static let standardInput = FileDescriptor(rawValue: 0)

    /// Marks the descriptors the supervisor handed over (segment, notifiers, lifeline)
    /// close-on-exec, so the command does not inherit the ring. Only the descriptor flag changes;
    /// the shared file status flags (O_NONBLOCK) stay as they are (docs/PROTOCOL.md §7).
    static func keepFromChildren(_ descriptors: [CInt]) {
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    }

    /// Writes one line to standard error, which the supervisor logs as the worker's.
    static func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 { offset += n } else if n == -1 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Writes text to standard output (`--help`).
    static func printOutput(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
    }

    /// Ends the process with `status`.
    static func exit(_ status: CInt) -> Never { Glibc.exit(status) }

    /// The raw bytes of the process's arguments after argv[0] (they need not be UTF-8).
    static func argumentBytes() -> [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { index in
            guard let pointer = CommandLine.unsafeArgv[index] else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
        }
    }

    /// The process's own argument vector from `index` on, as the C strings the kernel gave it:
    /// the command is run with exactly these bytes.
    static func argumentPointers(from index: Int) -> [UnsafeMutablePointer<CChar>?] {
        (index..<Int(CommandLine.argc)).map { CommandLine.unsafeArgv[$0] }
    }

    /// The errno's symbolic name (`ENOENT`), or its number.
    static func errnoName(_ error: Errno) -> String {
        cshim_errno_name(error.rawValue).map { String(cString: $0) } ?? "errno \(error.rawValue)"
    }
}
