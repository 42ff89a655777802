import LoopKit
import Logging
import Manifest
import SystemKit

/// Where a worker's captured output lines go besides the supervisor's log: the in-memory tails
/// for `ringmaster logs` (every worker), and the worker's own file (workers with `log`).
///
/// Loop-thread only. Every instance of a worker shares the worker's one file.
final class WorkerOutput {
    /// The recent lines of every instance, and their observers.
    let book: WorkerLogBook
    /// By worker name; only workers with `log`.
    private var files: [String: RotatingLogFile]
    private let logger: Logger

    init(workers: [WorkerSpec], logger: Logger, book: WorkerLogBook = WorkerLogBook()) {
        self.book = book
        self.logger = logger
        var files: [String: RotatingLogFile] = [:]
        for worker in workers {
            guard let log = worker.log else { continue }
            let name = worker.name
            files[name] = RotatingLogFile(path: log.path, maxSize: log.maxSize, keep: log.keep) { problem in
                logger.error("\(name): \(problem)")
            }
        }
        self.files = files
    }

    /// A reload: workers with a new or different `log` get their file (opened now); a worker whose
    /// `log` went away has none. A replaced file stays open while the old instances that captured
    /// it still write their last lines, and closes when they are gone.
    func apply(_ workers: [WorkerSpec]) {
        var next: [String: RotatingLogFile] = [:]
        for worker in workers {
            guard let log = worker.log else { continue }
            if let current = files[worker.name], current.path == log.path, current.maxSize == log.maxSize, current.keep == log.keep {
                next[worker.name] = current
                continue
            }
            let name = worker.name
            let logger = self.logger
            let file = RotatingLogFile(path: log.path, maxSize: log.maxSize, keep: log.keep) { problem in
                logger.error("\(name): \(problem)")
            }
            file.open()
            next[worker.name] = file
        }
        files = next
    }

    /// Opens every worker's log file. A file that cannot be opened is logged, once; its worker
    /// runs anyway, with its lines only in the supervisor's log (SIGUSR1 tries again).
    func open() {
        for (_, file) in files.sorted(by: { $0.key < $1.key }) { file.open() }
    }

    /// Opens every log file anew at its path: SIGUSR1, after an external rotation moved them away.
    func reopen(after signal: Signal) {
        guard !files.isEmpty else { return }
        logger.info("\(signal.name): reopening the workers' log files", metadata: ["files": "\(files.count)"])
        for (_, file) in files.sorted(by: { $0.key < $1.key }) { file.reopen() }
    }

    /// Closes every log file (at the end of the run).
    func close() {
        for file in files.values { file.close() }
    }

    /// What `ChildProcess.spawn`'s `onOutput` calls for each line of `instance`: into its tail,
    /// then into its worker's file.
    func recorder(for instance: Instance) -> (ChildProcess.OutputStream, String) -> Void {
        let book = self.book
        let worker = instance.worker.name
        let index = instance.index
        guard let file = files[worker] else {
            return { stream, text in
                book.append(worker: worker, instance: index, stream: stream == .stdout ? .stdout : .stderr, text: text)
            }
        }
        let encoding = LineEncoding()
        return { stream, text in
            let line = book.append(worker: worker, instance: index, stream: stream == .stdout ? .stdout : .stderr, text: text)
            encoding.buffer.removeAll(keepingCapacity: true)
            encoding.encoder.append(line, to: &encoding.buffer)
            encoding.buffer.withUnsafeBytes { file.append($0) }
        }
    }
}

/// One recorder's encoder and line buffer, reused for every line.
private final class LineEncoding {
    var encoder = LogLineEncoder()
    var buffer: [UInt8] = []
}

extension Supervisor {
    /// Every worker instance's recent output lines and a way to follow them (`ringmaster logs`).
    /// Loop-thread only.
    public var logBook: WorkerLogBook { workerOutput.book }

    /// Reopens the workers' log files on SIGUSR1 (for logrotate's `postrotate`).
    func watchLogReopenSignal() throws(SystemError) -> SignalWatch {
        try SignalWatch(loop: loop, signal: .user1) { [unowned self] signal in workerOutput.reopen(after: signal) }
    }
}
