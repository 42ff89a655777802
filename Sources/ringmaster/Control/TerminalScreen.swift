import CShim
import ControlProtocol
import Glibc
import SystemKit

/// The terminal as `top` uses it: the alternate screen with the cursor hidden, standard input in
/// raw mode (no echo, no line editing), the size, and the signals that matter, all as one value
/// whose `restore()` puts everything back. `restore()` is idempotent and runs on every exit path
/// the process controls (a crash cannot restore anything; `reset` fixes such a terminal).
final class TerminalScreen {
    /// What `wait(milliseconds:)` saw.
    enum Event: Equatable {
        /// A byte typed on standard input.
        case key(UInt8)
        /// Standard input reached its end (or failed): no more keys will come.
        case inputClosed
        /// Ctrl-C (SIGINT), SIGTERM, SIGHUP or SIGQUIT: quit.
        case quit
        /// SIGWINCH: the size changed.
        case resized
        /// Ctrl-Z (SIGTSTP): the caller calls `suspend()`.
        case suspend
    }

    /// Rows and columns (80 × 24 when the terminal does not say).
    private(set) var rows = 24
    private(set) var columns = 80
    /// Whether standard input is a terminal whose keys we read.
    private var readsKeys: Bool
    private var savedInput: termios?
    private let signals: CInt
    private var active = false

    /// Whether `fd` is a terminal. The corresponding C function is `isatty`.
    static func isTerminal(_ fd: CInt) -> Bool { isatty(fd) == 1 }

    /// Blocks the signals `top` handles (they arrive through a signalfd instead of handlers),
    /// ignores SIGPIPE (a supervisor that went away is an error to report, not a death), then
    /// enters the screen.
    init() throws(SystemError) {
        let handled: [CInt] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP]
        signals = try valueOrErrno("signalfd") { handled.withUnsafeBufferPointer { cshim_signalfd_block($0.baseAddress, CInt($0.count)) } }
        signal(SIGPIPE, SIG_IGN)
        readsKeys = Self.isTerminal(0)
        enter()
    }

    deinit {
        restore()
        close(signals)
    }

    /// Raw input, alternate screen, cursor hidden, line wrap off; re-reads the size.
    func enter() {
        guard !active else { return }
        active = true
        if readsKeys {
            var settings = termios()
            if tcgetattr(0, &settings) == 0 {
                savedInput = settings
                // Keep ISIG: Ctrl-C and Ctrl-Z stay signals, which arrive through the signalfd.
                settings.c_lflag &= ~tcflag_t(ICANON | ECHO | IEXTEN)
                withUnsafeMutableBytes(of: &settings.c_cc) { cc in
                    cc[Int(VMIN)] = 1
                    cc[Int(VTIME)] = 0
                }
                tcsetattr(0, TCSANOW, &settings)
            } else {
                readsKeys = false
            }
        }
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[?7l\u{1B}[H\u{1B}[2J")
        readSize()
    }

    /// Line wrap on, cursor shown, main screen back, input settings as they were.
    func restore() {
        guard active else { return }
        active = false
        write("\u{1B}[?7h\u{1B}[?25h\u{1B}[?1049l")
        if var saved = savedInput {
            tcsetattr(0, TCSADRAIN, &saved)
            savedInput = nil
        }
    }

    /// Ctrl-Z: the terminal restored, the process stopped; on `fg` the screen comes back.
    func suspend() {
        restore()
        kill(getpid(), SIGSTOP)
        enter()
    }

    /// The size from TIOCGWINSZ on standard output, then on standard input.
    func readSize() {
        for fd: CInt in [1, 0] {
            var size = winsize()
            if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 && size.ws_row > 0 {
                rows = Int(size.ws_row)
                columns = Int(size.ws_col)
                return
            }
        }
    }

    /// Draws `lines` from the top-left corner, each cut to the width and cleared to its end, the
    /// rest of the screen cleared, and `footer` on the last row. One write per frame, so the
    /// terminal never shows half a frame.
    func draw(_ lines: [String], footer: String) {
        let body = lines.prefix(max(0, rows - 1))
        var frame = ""
        for (index, line) in body.enumerated() {
            frame += "\u{1B}[\(index + 1);1H" + TerminalText.fit(line, columns) + "\u{1B}[K"
        }
        frame += "\u{1B}[\(body.count + 1);1H\u{1B}[J"
        frame += "\u{1B}[\(rows);1H\u{1B}[7m" + TerminalText.fit(footer, columns) + "\u{1B}[0m\u{1B}[K"
        write(frame)
    }

    /// Waits up to `milliseconds` for keys or signals; an empty result is a timeout.
    func wait(milliseconds: Int) -> [Event] {
        var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        if readsKeys { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), Int32(clamping: milliseconds))
        guard ready > 0 else { return [] }
        var events: [Event] = []
        if fds[0].revents != 0 {
            while true {
                let number = cshim_signalfd_next(signals)
                guard number > 0 else { break }
                switch number {
                case SIGWINCH: events.append(.resized)
                case SIGTSTP: events.append(.suspend)
                default: events.append(.quit)
                }
            }
        }
        if fds.count > 1 && fds[1].revents != 0 {
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = bytes.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n > 0 {
                events += bytes[..<n].map(Event.key)
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                readsKeys = false
                events.append(.inputClosed)
            }
        }
        return events
    }

    /// Standard output, all of it (a terminal that hung up just loses the bytes).
    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}
