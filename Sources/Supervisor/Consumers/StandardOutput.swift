import Glibc
import SystemKit

/// The process's standard output shared by consumers on several threads: each `write` call puts
/// whole lines out under one lock, so lines from different consumers never interleave.
public enum StandardOutput {
    private static let lock = ConditionLock()

    /// Writes `text` completely (retrying short writes and EINTR); throws when standard output
    /// is gone (EPIPE: SIGPIPE is ignored) or broken.
    public static func write(_ text: String) throws(SystemError) {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(SystemError) in try write(UnsafeRawBufferPointer(buffer)) }
        }
        try result.get()
    }

    /// Writes `bytes` completely, as `write(_:)` does.
    public static func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        let failure: SystemError? = lock.withLock {
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 { offset += n; continue }
                if n == -1 && errno == EINTR { continue }
                return SystemError("write", "standard output")
            }
            return nil
        }
        if let failure { throw failure }
    }
}
