import Glibc

/// A POSIX signal number with a readable name (`Signal.terminate`, not `SIGTERM`).
public struct Signal: Hashable, Sendable, CustomStringConvertible {
    /// The C signal number.
    public let rawValue: Int32

    /// Wraps a C signal number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// SIGHUP: the controlling terminal went away; daemons often take it as "reload".
    public static let hangup = Signal(rawValue: SIGHUP)
    /// SIGINT: interrupt from the keyboard (Ctrl-C).
    public static let interrupt = Signal(rawValue: SIGINT)
    /// SIGQUIT: quit from the keyboard, with a core dump by default.
    public static let quit = Signal(rawValue: SIGQUIT)
    /// SIGABRT: `abort()`.
    public static let abort = Signal(rawValue: SIGABRT)
    /// SIGKILL: cannot be caught, blocked or ignored.
    public static let kill = Signal(rawValue: SIGKILL)
    /// SIGUSR1: user-defined.
    public static let user1 = Signal(rawValue: SIGUSR1)
    /// SIGSEGV: invalid memory reference.
    public static let segmentationFault = Signal(rawValue: SIGSEGV)
    /// SIGUSR2: user-defined.
    public static let user2 = Signal(rawValue: SIGUSR2)
    /// SIGPIPE: write to a pipe or socket with no reader.
    public static let pipe = Signal(rawValue: SIGPIPE)
    /// SIGALRM: `alarm()` expired.
    public static let alarm = Signal(rawValue: SIGALRM)
    /// SIGTERM: polite request to terminate.
    public static let terminate = Signal(rawValue: SIGTERM)
    /// SIGCHLD: a child stopped or exited. libuv watches it itself for `ChildProcess`.
    public static let child = Signal(rawValue: SIGCHLD)
    /// SIGCONT: continue if stopped.
    public static let resume = Signal(rawValue: SIGCONT)
    /// SIGSTOP: stop; cannot be caught, blocked or ignored.
    public static let stop = Signal(rawValue: SIGSTOP)
    /// SIGWINCH: the terminal window changed size.
    public static let windowChange = Signal(rawValue: SIGWINCH)

    /// The names accepted by `init?(name:)`, without the "SIG" prefix, with their Linux numbers.
    private static let names: [(name: String, number: Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("IOT", SIGIOT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL),
        ("USR1", SIGUSR1), ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM),
        ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CLD", SIGCHLD), ("CONT", SIGCONT),
        ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG),
        ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM), ("PROF", SIGPROF),
        ("WINCH", SIGWINCH), ("IO", SIGIO), ("POLL", SIGPOLL), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    /// Parses a signal name as a manifest or a command line writes it: "TERM", "SIGTERM", "term",
    /// or a number ("15", "SIG15"). Returns nil for anything else or a number outside 1...64.
    public init?(name: String) {
        var text = name.uppercased()
        if text.hasPrefix("SIG") { text.removeFirst(3) }
        if let entry = Signal.names.first(where: { $0.name == text }) {
            self.init(rawValue: entry.number)
        } else if let number = Int32(text), (1...64).contains(number) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }

    /// The conventional name, e.g. "SIGTERM"; "SIG42" for a number without one.
    /// `Signal(name: signal.name) == signal` for every signal in 1...64.
    public var name: String {
        if let entry = Signal.names.first(where: { $0.number == rawValue }) { return "SIG" + entry.name }
        return "SIG\(rawValue)"
    }

    /// The name, e.g. "SIGTERM".
    public var description: String { name }
}
