import CLibUV
import Glibc
import SystemKit

/// A running child: its stdout and stderr arrive line by line, its end arrives once.
///
/// Loop-thread only. Ordering guarantee: `onExit` runs exactly once, after the process was reaped
/// *and* both output pipes reached EOF (or were closed after `SpawnOptions.outputDrainGrace`), so
/// every line the child wrote, including a last line without a newline, is delivered before its
/// exit. After `onExit` no callback runs again and both closures are released.
///
/// The child keeps itself alive until then (its libuv handles hold it): a supervisor need not store
/// it to see the exit. If the `Loop` is torn down first, the handles are closed, no callback runs
/// again, and the process (left running) is not reaped by this loop.
public final class ChildProcess: HandleOwner {
    /// Which of the child's output streams a line came from.
    public enum OutputStream: Hashable, Sendable {
        /// Descriptor 1.
        case stdout
        /// Descriptor 2.
        case stderr
    }

    /// The child's process id. It names the child only until `exitStatus` is set (then the pid may
    /// be reused); `kill` knows this, raw `kill(2)` calls do not.
    public let pid: Int32
    /// Whether the child leads its own process group and session (`SpawnOptions.newProcessGroup`).
    public let leadsProcessGroup: Bool
    /// How the process ended, from the moment it was reaped (which may be before `onExit` runs,
    /// while its last output is still being read).
    public private(set) var exitStatus: ProcessExit?

    /// One output pipe (the parent's end) and its line state.
    struct Output {
        let stream: OutputStream
        /// Nil once it reached EOF or was closed.
        var pipe: UnsafeMutablePointer<uv_pipe_t>?
        var splitter: LineSplitter
    }

    /// The process handle until the process was reaped.
    private var process: UnsafeMutablePointer<uv_process_t>?
    private var outputs: [Output]
    /// The one read buffer per pipe: libuv's alloc callback hands it out again on every read.
    private let readBuffers: [UnsafeMutableRawBufferPointer]
    private var drainTimer: UnsafeMutablePointer<uv_timer_t>?
    private let drainGrace: Duration?
    private var onOutput: ((OutputStream, String) -> Void)?
    private var onExit: ((ProcessExit) -> Void)?

    static let readBufferSize = 64 * 1024
    /// The most a final drain reads from one pipe, so a descendant flooding it cannot keep the
    /// loop there.
    static let finalDrainLimit = 1 << 20

    /// Takes ownership of the spawned process and its output pipes (see `spawn`).
    init(
        pid: Int32, options: SpawnOptions,
        process: UnsafeMutablePointer<uv_process_t>, pipes: [UnsafeMutablePointer<uv_pipe_t>],
        onOutput: @escaping (OutputStream, String) -> Void, onExit: @escaping (ProcessExit) -> Void
    ) {
        self.pid = pid
        self.leadsProcessGroup = options.newProcessGroup
        self.process = process
        self.outputs = zip([OutputStream.stdout, .stderr], pipes).map {
            Output(stream: $0, pipe: $1, splitter: LineSplitter(maxLineLength: options.maxLineLength))
        }
        self.readBuffers = pipes.map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 16)
        }
        self.drainGrace = options.outputDrainGrace
        self.onOutput = onOutput
        self.onExit = onExit
        Handles.attach(process, to: self)
        for pipe in pipes { Handles.attach(pipe, to: self) }
        for index in outputs.indices { startReading(index) }
    }

    deinit {
        // Every handle holds this object, so they are all closed by now.
        for buffer in readBuffers { buffer.deallocate() }
    }

    /// Sends `signal` to the child. Returns whether it was sent: false once the child was reaped
    /// (its pid may belong to another process by then, so nothing is sent) or when the kernel
    /// refuses (EPERM). The corresponding C function is `kill`.
    @discardableResult
    public func kill(_ signal: Signal) -> Bool {
        guard exitStatus == nil else { return false }
        return Self.send(signal, to: pid)
    }

    /// Sends `signal` to the child's whole process group (`kill(-pid)`), reaching what it started.
    /// Works after the child itself exited, as long as its group has members (a group id is not
    /// reused while the group exists). Returns false when nothing was signalled (ESRCH: the group
    /// is empty). Without `newProcessGroup` the child has no group of its own, and this is `kill`.
    @discardableResult
    public func killGroup(_ signal: Signal) -> Bool {
        guard leadsProcessGroup else { return kill(signal) }
        return Self.send(signal, to: -pid)
    }

    private static func send(_ signal: Signal, to target: pid_t) -> Bool {
        if Glibc.kill(target, signal.rawValue) == 0 { return true }
        precondition(Errno.current != .invalidArgument, "kill: invalid signal \(signal.rawValue)")
        return false
    }

    // MARK: - libuv events (loop thread)

    private func startReading(_ index: Int) {
        guard let pipe = outputs[index].pipe else { return }
        let result = uv_read_start(Handles.stream(pipe), { handle, _, buffer in
            let child = Handles.owner(of: handle, as: ChildProcess.self)
            let storage = child.readBuffer(for: handle)
            buffer?.pointee.base = storage.baseAddress?.assumingMemoryBound(to: CChar.self)
            buffer?.pointee.len = storage.count
        }, { stream, count, buffer in
            let child = Handles.owner(of: stream, as: ChildProcess.self)
            child.received(count: count, on: stream, into: buffer?.pointee.base)
        })
        if result != 0 { finishOutput(index) }
    }

    private func outputIndex<T>(of handle: UnsafeMutablePointer<T>?) -> Int? {
        guard let handle else { return nil }
        let address = UnsafeMutableRawPointer(handle)
        return outputs.firstIndex { $0.pipe.map(UnsafeMutableRawPointer.init) == address }
    }

    private func readBuffer(for handle: UnsafeMutablePointer<uv_handle_t>?) -> UnsafeMutableRawBufferPointer {
        guard let index = outputIndex(of: handle) else { preconditionFailure("read on an unknown pipe") }
        return readBuffers[index]
    }

    private func received(count: Int, on stream: UnsafeMutablePointer<uv_stream_t>?, into base: UnsafeMutablePointer<CChar>?) {
        guard let index = outputIndex(of: stream) else { return }
        if count > 0, let base {
            feed(index, UnsafeRawBufferPointer(start: base, count: count))
        } else if count < 0 {
            // UV_EOF, or a read error (ECONNRESET...): either way nothing more will come.
            finishOutput(index)
        }
    }

    /// Splits bytes into lines first and calls out after, so a callback that reenters this object
    /// never overlaps an access to `outputs`.
    private func feed(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        var lines: [String] = []
        outputs[index].splitter.feed(bytes) { lines.append($0) }
        deliver(lines, from: outputs[index].stream)
    }

    private func deliver(_ lines: [String], from stream: OutputStream) {
        for line in lines {
            guard let onOutput else { return }
            onOutput(stream, line)
        }
    }

    /// Closes one output pipe and delivers its unfinished last line.
    private func finishOutput(_ index: Int) {
        guard let pipe = outputs[index].pipe else { return }
        outputs[index].pipe = nil
        Handles.close(pipe)
        var lines: [String] = []
        outputs[index].splitter.finish { lines.append($0) }
        deliver(lines, from: outputs[index].stream)
        deliverExitIfDone()
    }

    fileprivate func processExited(status: Int64, signal: Int32) {
        exitStatus = signal != 0 ? .signaled(Signal(rawValue: signal)) : .exited(Int32(truncatingIfNeeded: status))
        guard let process else { return }
        let loop = Handles.base(process).pointee.loop
        self.process = nil
        Handles.close(process)
        if let drainGrace, let loop, outputs.contains(where: { $0.pipe != nil }) {
            startDrainTimer(loop: loop, after: drainGrace)
        }
        deliverExitIfDone()
    }

    private func startDrainTimer(loop: UnsafeMutablePointer<uv_loop_t>, after grace: Duration) {
        let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        timer.initialize(to: uv_timer_t())
        uv_timer_init(loop, timer)
        Handles.attach(timer, to: self)
        drainTimer = timer
        uv_timer_start(timer, { timer in
            Handles.owner(of: timer, as: ChildProcess.self).drainGraceExpired()
        }, grace.roundedUpMilliseconds, 0)
    }

    /// The child is gone but something still holds its output open: read what the child left in
    /// the pipes (bounded) and close them.
    private func drainGraceExpired() {
        for index in outputs.indices {
            guard let pipe = outputs[index].pipe else { continue }
            var descriptor: uv_os_fd_t = -1
            if uv_fileno(Handles.base(pipe), &descriptor) == 0 {
                drainBuffered(index, descriptor: descriptor)
            }
            finishOutput(index)
        }
    }

    private func drainBuffered(_ index: Int, descriptor: Int32) {
        let buffer = readBuffers[index]
        var total = 0
        while total < Self.finalDrainLimit, outputs[index].pipe != nil {
            // The parent's end is non-blocking (libuv set O_NONBLOCK on it; the child cannot
            // change that, it holds a different open file description): EAGAIN ends the drain.
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 && Errno.current == .interrupted { continue }
            if count <= 0 { break }
            feed(index, UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            total += count
        }
    }

    private func deliverExitIfDone() {
        guard let exitStatus, outputs.allSatisfy({ $0.pipe == nil }), let onExit else { return }
        self.onExit = nil
        self.onOutput = nil
        if let drainTimer {
            self.drainTimer = nil
            Handles.close(drainTimer)
        }
        onExit(exitStatus)
    }

    func closeForTeardown(_ handle: UnsafeMutablePointer<uv_handle_t>) {
        onOutput = nil
        onExit = nil
        if let process {
            self.process = nil
            Handles.close(process)
        }
        for index in outputs.indices {
            if let pipe = outputs[index].pipe {
                outputs[index].pipe = nil
                Handles.close(pipe)
            }
        }
        if let drainTimer {
            self.drainTimer = nil
            Handles.close(drainTimer)
        }
    }
}

/// The exit callback handed to `uv_spawn`: libuv reaped the child (exit status, or the signal).
let childExitCallback: uv_exit_cb = { process, status, signal in
    Handles.owner(of: process, as: ChildProcess.self).processExited(status: status, signal: signal)
}
