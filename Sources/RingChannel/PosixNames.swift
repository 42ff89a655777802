import CShim
import Glibc

/// Names of POSIX shared-memory objects and semaphores, and the sweep of stale ones.
///
/// A name is `/ringmaster.<pid>.<16 hex digits from the system RNG>`: unguessable, and the pid
/// of its creator lets a later supervisor remove names whose creator died without unlinking.
/// Semaphores add `.data` / `.space` and show in `/dev/shm` with glibc's `sem.` prefix.
public enum PosixNames {
    /// The prefix every name starts with (after the slash).
    public static let prefix = "ringmaster."

    /// A fresh segment name for this process.
    public static func makeSegmentName(pid: Int32 = getpid()) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = String(generator.next() as UInt64, radix: 16)
        return "/" + prefix + "\(pid)." + String(repeating: "0", count: 16 - token.count) + token
    }

    /// What a sweep removed.
    public struct SweepResult: Hashable, Sendable {
        /// Entries of the directory that were unlinked (as listed, e.g. `sem.ringmaster.41.ab….data`).
        public var removed: [String] = []
    }

    /// Removes segments and semaphores whose creating pid no longer exists.
    ///
    /// `directory` is where glibc keeps the names (`/dev/shm`). A name whose pid is alive, or
    /// whose pid cannot be parsed, is left alone.
    public static func sweepStale(directory: String = "/dev/shm") -> SweepResult {
        var result = SweepResult()
        guard let dir = opendir(directory) else { return result }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            let isSemaphore = name.hasPrefix("sem." + prefix)
            guard isSemaphore || name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst((isSemaphore ? 4 : 0) + prefix.count)
            guard let pidText = rest.split(separator: ".", maxSplits: 1).first,
                  let pid = Int32(pidText), pid > 0 else { continue }
            guard kill(pid, 0) == -1, Errno.current == .noSuchProcess else { continue }
            let status = isSemaphore ? sem_unlink("/" + name.dropFirst(4)) : shm_unlink("/" + name)
            if status == 0 { result.removed.append(name) }
        }
        return result
    }
}
