import CShim
import Glibc
import SystemKit

/// A listening socket served by the loop: every connection it accepts is handed to `onAccept`
/// (non-blocking, close-on-exec). Loop-thread only. The listener owns its descriptor.
public final class SocketListener {
    /// The listening descriptor (owned; closed by `close()`).
    public let descriptor: FileDescriptor
    private var watch: FDWatch?
    private let onAccept: (FileDescriptor) -> Void

    /// Starts accepting on `descriptor`, a non-blocking listening socket.
    public init(loop: Loop, descriptor: FileDescriptor, onAccept: @escaping (FileDescriptor) -> Void) throws(SystemError) {
        self.descriptor = descriptor
        self.onAccept = onAccept
        watch = try FDWatch(loop: loop, descriptor: descriptor, events: .readable) { [unowned self] _ in acceptPending() }
    }

    private func acceptPending() {
        // Level triggered: whatever is left is offered again on the next iteration.
        for _ in 0..<64 {
            let fd = cshim_accept_nonblocking(descriptor.rawValue)
            if fd < 0 { return }
            onAccept(FileDescriptor(rawValue: fd))
        }
    }

    /// Stops accepting and closes the descriptor. Idempotent.
    public func close() {
        guard let watch else { return }
        watch.close()
        self.watch = nil
        descriptor.close()
    }
}

/// A non-blocking stream connection on the loop that reads newline-terminated lines and writes
/// queued bytes. Loop-thread only. The connection owns its descriptor; while open it keeps itself
/// alive (through its watch) until `close()`.
public final class LineConnection {
    /// What arrives from the peer.
    public enum Input {
        /// One line, without its `\n`.
        case line([UInt8])
        /// More than `maxLineLength` bytes without a newline: the connection should be answered
        /// with an error and closed.
        case tooLong
    }

    /// The connection's descriptor (owned).
    public let descriptor: FileDescriptor
    /// The longest line accepted.
    public let maxLineLength: Int
    /// Queued output beyond which the peer counts as too slow and the connection is closed.
    public let maxPendingOutput: Int
    private var watch: FDWatch?
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputStart = 0
    private var closeAfterFlush = false
    private var onInput: ((LineConnection, Input) -> Void)?
    private var onClose: ((LineConnection) -> Void)?

    /// Serves `descriptor` (a connected, non-blocking socket).
    public init(loop: Loop, descriptor: FileDescriptor, maxLineLength: Int = 64 << 10, maxPendingOutput: Int = 8 << 20,
                onInput: @escaping (LineConnection, Input) -> Void,
                onClose: @escaping (LineConnection) -> Void) throws(SystemError) {
        self.descriptor = descriptor
        self.maxLineLength = maxLineLength
        self.maxPendingOutput = maxPendingOutput
        self.onInput = onInput
        self.onClose = onClose
        watch = try FDWatch(loop: loop, descriptor: descriptor, events: .readable) { [unowned self] result in
            switch result {
            case .success(let events):
                if events.contains(.writable) { flush() }
                if events.contains(.readable) { readAvailable() }
            case .failure:
                close()
            }
        }
    }

    /// True until `close()` (or the peer's hang-up) ends the connection.
    public var isOpen: Bool { watch != nil }

    /// Bytes queued and not yet written.
    public var pendingOutput: Int { output.count - outputStart }

    /// Queues `bytes` and writes what the socket takes now. A peer that lets more than
    /// `maxPendingOutput` bytes pile up is disconnected.
    public func send(_ bytes: [UInt8]) {
        guard isOpen, !closeAfterFlush else { return }
        output += bytes
        if pendingOutput > maxPendingOutput {
            close()
            return
        }
        flush()
    }

    /// Closes once everything queued is written (at once if nothing is).
    public func closeWhenFlushed() {
        closeAfterFlush = true
        if pendingOutput == 0 {
            close()
        } else {
            // Nothing more is read (a peer at EOF would stay readable for ever): only writing.
            try? watch?.start(.writable)
        }
    }

    /// Closes the connection and the descriptor; `onClose` runs once. Idempotent.
    public func close() {
        guard let watch else { return }
        watch.close()
        self.watch = nil
        descriptor.close()
        let onClose = self.onClose
        self.onClose = nil
        onInput = nil
        onClose?(self)
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        // At most 256 KiB per wake-up: a client that never stops sending cannot hold the loop;
        // the rest is read on the next iteration (the watch is level-triggered).
        var budget = 256 << 10
        while isOpen && budget > 0 {
            let n = chunk.withUnsafeMutableBytes { read(descriptor.rawValue, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                close()
                return
            }
            if n == 0 {
                // The peer finished writing: answer what is queued, then go.
                closeWhenFlushed()
                return
            }
            input += chunk[0..<n]
            budget -= n
            deliverLines()
        }
    }

    private func deliverLines() {
        var start = 0
        while isOpen, !closeAfterFlush, let newline = input[start...].firstIndex(of: 0x0A) {
            onInput?(self, .line(Array(input[start..<newline])))
            start = newline + 1
        }
        input.removeFirst(start)
        if input.count > maxLineLength, isOpen, !closeAfterFlush {
            input.removeAll()
            onInput?(self, .tooLong)
        }
    }

    private func flush() {
        while pendingOutput > 0 {
            let n = output.withUnsafeBytes { write(descriptor.rawValue, $0.baseAddress! + outputStart, pendingOutput) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                close()
                return
            }
            outputStart += n
        }
        if pendingOutput == 0 {
            output.removeAll(keepingCapacity: output.count <= 64 << 10)
            outputStart = 0
            if closeAfterFlush {
                close()
                return
            }
            try? watch?.start(.readable)
        } else {
            try? watch?.start(closeAfterFlush ? .writable : [.readable, .writable])
        }
    }
}
