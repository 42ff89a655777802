import CShim
import Glibc
import RingChannel
import RingmasterTestSupport

// The walk section: the whole path (`ringmaster run` → ringmaster-walk → the built-in `stats`
// consumer, start-up included) against find(1) and fd, each timed from spawn to exit.

/// A generated tree of about `entries` entries with a realistic shape: five levels of
/// directories with varied fan-out, files per directory spread log-uniformly (1 to 600, plus a
/// few big directories of thousands), names of varied length and pattern, some hidden, 1%
/// symbolic links. Empty files, made with `mknodat` (one call each). Deterministic.
struct WalkTree {
    let root: String
    /// Every entry, the root included (what `find ROOT | wc -l` prints).
    private(set) var entries = 1
    private(set) var directories = 1
    private(set) var files = 0
    private(set) var symlinks = 0
    private(set) var seconds = 0.0

    private static let words = ["core", "util", "data", "net", "http", "json", "config", "test", "image", "font",
                                "locale", "python3", "perl", "gnome", "x11", "crypto", "zlib", "ssl", "sound", "video",
                                "doc", "man", "icons", "theme", "parser", "driver", "kernel", "module", "plugin", "cache"]
    private static let extensions = ["txt", "h", "c", "py", "so", "gz", "html", "json", "png", "svg", "mo", "conf", "pyc", "md"]
    private static let topLevel = ["bin", "lib", "share", "include", "src", "doc", "etc", "var", "opt", "local", "games", "libexec"]

    /// Makes the tree under `root` (which must not exist).
    init(at root: String, entries target: Int) throws(BenchFailure) {
        self.root = root
        let start = MonotonicClock.now()
        var random = SplitMix(seed: 0x5EED_0F_7EE5)
        // The directories, parents before children: (parent index, name).
        var tree: [(parent: Int, name: String)] = [(-1, root)]
        var level = [0]
        for depth in 1...5 {
            var next: [Int] = []
            for parent in level {
                let children: Int
                switch depth {
                case 1: children = Self.topLevel.count
                case 2: children = 6 + random.below(25)
                case 3: children = random.below(15)
                case 4: children = random.below(10) < 3 ? 1 + random.below(8) : 0
                default: children = random.below(10) == 0 ? 1 + random.below(4) : 0
                }
                for index in 0..<children {
                    let name = depth == 1 ? Self.topLevel[index] : Self.directoryName(index, &random)
                    next.append(tree.count)
                    tree.append((parent, name))
                }
            }
            level = next
        }
        // A smaller tree keeps about one directory per 40 entries: the first ones made (parents
        // come before their children, so that is still a tree).
        if tree.count > max(1, target / 40) { tree.removeLast(tree.count - max(1, target / 40)) }
        // Files: log-uniform weights, three big directories; scaled to the target.
        let fileTotal = max(0, target - tree.count)
        var weights = (0..<tree.count).map { _ in Self.logUniform(600, &random) }
        for big in [7, tree.count / 3, tree.count / 2] where big < tree.count { weights[big] = 8_000 }
        let weightSum = weights.reduce(0, +)
        var counts = weights.map { Int($0 / weightSum * Double(fileTotal)) }
        var index = 0
        while counts.reduce(0, +) < fileTotal {
            counts[index % counts.count] += 1
            index += 1
        }

        // The plan (names from the generator, in order), then the directories, then the files:
        // those in parallel, one thread per allowed CPU (at most 4), each a share of the directories.
        var paths: [String] = []
        paths.reserveCapacity(tree.count)
        var plan: [[(name: String, link: Bool)]] = []
        plan.reserveCapacity(tree.count)
        for (number, directory) in tree.enumerated() {
            paths.append(directory.parent < 0 ? directory.name : paths[directory.parent] + "/" + directory.name)
            plan.append((0..<counts[number]).map { file in (Self.fileName(file, &random), random.below(100) == 0) })
        }
        for path in paths {
            guard mkdir(path, 0o755) == 0 else { throw .system("mkdir(\(path))") }
        }
        let workers = max(1, min(4, Int(cshim_allowed_cpu_count())))
        let failures = runThreads(workers) { [paths, plan] worker in
            for number in stride(from: worker, to: paths.count, by: workers) {
                let fd = open(paths[number], O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { return "open(\(paths[number])): \(Errno.current)" }
                defer { close(fd) }
                for (name, link) in plan[number] {
                    let made = link ? symlinkat("../" + name, fd, name) : mknodat(fd, name, S_IFREG | 0o644, 0)
                    guard made == 0 else { return "\(link ? "symlinkat" : "mknodat")(\(paths[number])/\(name)): \(Errno.current)" }
                }
            }
            return nil
        }
        if let failure = failures.compactMap({ $0 }).first { throw BenchFailure(failure) }
        symlinks = plan.reduce(0) { $0 + $1.count { $0.link } }
        files = fileTotal - symlinks
        directories = tree.count
        entries = directories + files + symlinks
        seconds = elapsedSeconds(since: start)
    }

    /// Removes the tree (`rm -rf`).
    func remove() {
        if let rm = try? SpawnedProcess.spawn("/bin/rm", ["-rf", "--", root]) { rm.wait() }
    }

    private static func logUniform(_ maximum: Double, _ random: inout SplitMix) -> Double {
        exp(random.unit() * log(maximum))
    }

    private static func directoryName(_ index: Int, _ random: inout SplitMix) -> String {
        let word = words[random.below(words.count)]
        switch random.below(4) {
        case 0: return "\(word)\(index)"
        case 1: return "\(word)-\(words[random.below(words.count)])-\(index)"
        case 2: return "\(word).d\(index)"
        default: return "\(word)_\(index)_\(random.below(1000))"
        }
    }

    private static func fileName(_ index: Int, _ random: inout SplitMix) -> String {
        let word = words[random.below(words.count)]
        let ext = extensions[random.below(extensions.count)]
        switch random.below(10) {
        case 0, 1, 2: return "\(word)-\(index).\(ext)"
        case 3, 4: return "\(word)_\(words[random.below(words.count)])\(index).\(ext)"
        case 5: return "lib\(word)\(index).so.\(random.below(10))"
        case 6: return "\(word.uppercased())\(index)"
        case 7: return ".\(word)\(index)"
        case 8: return "\(word)-\(words[random.below(words.count)])-\(words[random.below(words.count)])-\(index)-\(random.below(100_000)).\(ext)"
        default: return "\(index)"
        }
    }
}

/// Runs `body(0)` … `body(count − 1)` on as many threads (pthreads, which inherit this thread's
/// CPU affinity) and returns what each reported (nil: no failure), in order.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> String?) -> [String?] {
    let slots = (0..<count).map { ThreadSlot(index: $0, body: body) }
    var threads: [pthread_t] = []
    for slot in slots.dropFirst() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(slot).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<ThreadSlot>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if status == 0 {
            threads.append(thread)
        } else {
            Unmanaged<ThreadSlot>.fromOpaque(context).release()
            slot.run()
        }
    }
    slots[0].run()
    for thread in threads { pthread_join(thread, nil) }
    return slots.map(\.result)
}

/// One thread of `runThreads`: its index, the work, and what the work reported once it ran.
final class ThreadSlot: @unchecked Sendable {
    let index: Int
    let body: @Sendable (Int) -> String?
    var result: String? = nil

    init(index: Int, body: @escaping @Sendable (Int) -> String?) {
        self.index = index
        self.body = body
    }

    func run() { result = body(index) }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Seconds since `start` (CLOCK_MONOTONIC ns).
func elapsedSeconds(since start: UInt64) -> Double { seconds(from: start, to: MonotonicClock.now()) }

/// What the walk section compares.
enum WalkCase: CaseIterable {
    case walker1Stat, walker2Stat, walker1NoStat, walker2NoStat
    case findPrintf, find, fd, fdOneThread

    var label: String {
        switch self {
        case .walker1Stat: "walker, 1 instance, stat"
        case .walker2Stat: "walker, 2 instances, stat"
        case .walker1NoStat: "walker, 1 instance, --no-stat"
        case .walker2NoStat: "walker, 2 instances, --no-stat"
        case .findPrintf: "find -printf '%s %T@ %m %p\\n' | wc -l"
        case .find: "find | wc -l"
        case .fd: "fdfind -uu . | wc -l"
        case .fdOneThread: "fdfind -uu -j1 . | wc -l"
        }
    }

    var isWalker: Bool { instances > 0 }
    var usesFd: Bool { self == .fd || self == .fdOneThread }

    /// The walker's pool size (0: not the walker).
    var instances: Int {
        switch self {
        case .walker1Stat, .walker1NoStat: 1
        case .walker2Stat, .walker2NoStat: 2
        default: 0
        }
    }

    var stats: Bool { self == .walker1Stat || self == .walker2Stat }

    /// The shell pipeline of a peer, for ROOT quoted.
    func pipeline(_ root: String) -> String {
        let quoted = shellQuoted(root)
        switch self {
        case .findPrintf: return "find \(quoted) -printf '%s %T@ %m %p\\n' | wc -l"
        case .find: return "find \(quoted) | wc -l"
        case .fd: return "fdfind -uu . \(quoted) | wc -l"
        case .fdOneThread: return "fdfind -uu -j1 . \(quoted) | wc -l"
        default: return ""
        }
    }
}

/// `text` as a double-quoted YAML scalar.
func yamlQuoted(_ text: String) -> String {
    var out = "\""
    for character in text {
        if character == "\\" || character == "\"" { out.append("\\") }
        out.append(character)
    }
    return out + "\""
}

/// `text` in single quotes for /bin/sh.
func shellQuoted(_ text: String) -> String {
    "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// One tree the section walks: its root, a label, and the entry count every run must report.
struct WalkRoot {
    let label: String
    let path: String
    var expected: Int
    /// Extra walker arguments for this tree (none by default).
    var walkerArguments: [String] = []
}

/// Runs one case once, timed from spawn to exit, and checks its count.
struct WalkCases {
    let scratch: ScratchDirectory
    let fdfind: String?
    private let ringmaster = executableDirectory() + "/ringmaster"
    private let walker = executableDirectory() + "/ringmaster-walk"
    static let limit = 300.0

    init(scratch: ScratchDirectory) throws(BenchFailure) {
        self.scratch = scratch
        fdfind = findOnPath("fdfind")
        for program in [ringmaster, walker] where access(program, X_OK) != 0 {
            throw BenchFailure("\(program) is not built (make bench builds it)")
        }
    }

    /// The ring of the walker's manifest (as examples/walk.yaml).
    static let channel = "{ kind: memfd, ring: 4MiB, max_record: 64KiB }"

    /// Seconds from spawn to exit; throws when the run failed or its count is not the tree's.
    func run(_ walkCase: WalkCase, on tree: WalkRoot, tag: String) throws(BenchFailure) -> Double {
        let name = "walk-\(tag)"
        let (seconds, status): (Double, ExitStatus)
        let count: Int
        if walkCase.isWalker {
            var arguments = [tree.path] + tree.walkerArguments
            if !walkCase.stats { arguments.append("--no-stat") }
            let manifest = try scratch.write(name + ".yaml", """
                version: 1
                workers:
                  walker:
                    command: \(walker)
                    args: [\(arguments.map(yamlQuoted).joined(separator: ", "))]
                    instances: \(walkCase.instances)
                    channel: \(Self.channel)
                    format: file-entry
                    restart: { policy: never }
                    to: [count]
                consumers:
                  count: { plugin: stats }
                """)
            (seconds, status) = try timed(ringmaster, ["run", manifest], name: name)
            guard status == .exited(0) else {
                throw BenchFailure("\(walkCase.label), \(tree.label): ringmaster run ended with \(status); stderr ends: \(scratch.read(name + ".err").suffix(600))")
            }
            // The stats consumer's final line: "  walker: N records, ..."
            let output = scratch.read(name + ".out")
            guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("  walker: ") }),
                  let number = line.dropFirst("  walker: ".count).split(separator: " ").first.flatMap({ Int($0) }) else {
                throw BenchFailure("\(walkCase.label), \(tree.label): no record count in the stats consumer's output: \(output.suffix(300))")
            }
            count = number
        } else {
            (seconds, status) = try timed("/bin/sh", ["-c", walkCase.pipeline(tree.path)], name: name)
            guard status == .exited(0) else {
                throw BenchFailure("\(walkCase.label), \(tree.label): ended with \(status); stderr: \(scratch.read(name + ".err").suffix(600))")
            }
            let output = scratch.read(name + ".out").trimmingPrefix(while: \.isWhitespace)
            guard let number = Int(output.prefix { $0.isNumber }) else {
                throw BenchFailure("\(walkCase.label), \(tree.label): no count in its output: \(output.prefix(200))")
            }
            count = number
        }
        // fd does not list the root itself.
        let expected = walkCase.usesFd ? tree.expected - 1 : tree.expected
        guard count == expected else {
            throw BenchFailure("\(walkCase.label), \(tree.label): counted \(count) entries, the tree has \(expected)\(walkCase.usesFd ? " (less the root)" : "")")
        }
        return seconds
    }

    /// `find ROOT | wc -l`, untimed: the entry count of a tree not generated here.
    func countEntries(_ path: String) throws(BenchFailure) -> Int {
        let name = "walk-count"
        let (_, status) = try timed("/bin/sh", ["-c", WalkCase.find.pipeline(path)], name: name)
        guard status == .exited(0), let count = Int(scratch.read(name + ".out").filter(\.isNumber)) else {
            throw BenchFailure("find \(path) | wc -l failed (\(status)): \(scratch.read(name + ".err").suffix(300))")
        }
        return count
    }

    /// Starts `path arguments` with its output in `<name>.out` and `<name>.err`, and waits for
    /// its end: seconds from just before the spawn to the moment SIGCHLD arrived (blocked in
    /// this thread and taken with `sigtimedwait`, so the wait neither polls nor sleeps late).
    private func timed(_ path: String, _ arguments: [String], name: String) throws(BenchFailure) -> (Double, ExitStatus) {
        let out = open(scratch.file(name + ".out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(scratch.file(name + ".err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(out)
            close(err)
        }
        guard out >= 0, err >= 0 else { throw .system("open(\(scratch.path)/\(name).out/.err)") }
        var childSignal = sigset_t()
        sigemptyset(&childSignal)
        sigaddset(&childSignal, SIGCHLD)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &childSignal, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }
        let start = MonotonicClock.now()
        let process: SpawnedProcess
        do { process = try SpawnedProcess.spawn(path, arguments, stdoutTo: out, stderrTo: err) } catch {
            throw BenchFailure("spawn \(path): \(error)")
        }
        let deadline = start &+ UInt64(Self.limit * 1e9)
        while true {
            let now = MonotonicClock.now()
            if now >= deadline {
                process.kill(SIGKILL)
                process.wait()
                throw BenchFailure("\(path) \(arguments.joined(separator: " ")) did not end within \(Self.limit) s")
            }
            let left = deadline - now
            var timeout = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
            let signal = sigtimedwait(&childSignal, nil, &timeout)
            let end = MonotonicClock.now()
            // Another child's SIGCHLD (an earlier `rm`) or a timeout: look, and wait again.
            if signal == SIGCHLD, let status = process.poll() { return (seconds(from: start, to: end), status) }
            if let status = process.poll() { return (seconds(from: start, to: end), status) }
        }
    }
}

/// The first executable `name` in $PATH, if any.
func findOnPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
        let candidate = "\(directory)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
