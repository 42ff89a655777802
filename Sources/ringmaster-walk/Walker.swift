import RingChannel
import SystemKit

/// One directory on the walk's explicit stack: its sorted entries and how far the walk got.
struct Frame {
    /// The directory's entries, sorted.
    let listing: DirectoryListing
    /// The next entry to visit.
    var next = 0
    /// Open while the directory is near the top of the stack; deeper ones give their descriptor
    /// back and are reopened when the walk returns to them (`Walker.maxOpenDirectories`).
    var handle: DirectoryHandle?
    /// The directory's (device, inode): loop detection, and the check after a reopen.
    let identity: FileIdentity
    /// Where this directory's own name starts in the path, and where its path ends.
    let nameStart: Int
    let pathLength: Int
    /// Depth of the directory itself (a root is 0).
    let depth: Int
    /// Whether this instance emitted the directory's entry, and so owns its subtree below the split depth.
    let owned: Bool
    /// Reached through a followed symbolic link: its `..` is not the directory above it here.
    let viaSymlink: Bool
    /// The entry on the way to the resume point (an ancestor of it: visited but not emitted), or -1.
    var resumeAncestor = -1
    /// Which component of the resume path names this directory's entries.
    let resumeLevel: Int
}

/// The walk: roots in command-line order, each a pre-order walk with sorted directories, on an
/// explicit stack (no recursion, so depth is limited by memory only), reading with `getdents64`,
/// stat'ing with `fstatat` relative to the open directory, and writing records in place.
struct Walker: ~Copyable {
    /// At most this many directory descriptors are open at once, whatever the depth.
    static let maxOpenDirectories = 64

    let options: WalkOptions
    let shard: Shard
    let fingerprint: UInt64
    var sink: RecordSink
    /// Where to resume: a token whose entry the walk has not reached yet.
    var resume: ResumeToken?
    var path = PathBuffer()
    var stack: [Frame] = []
    /// The identities of the directories on the stack (loop detection).
    var ancestors: Set<FileIdentity> = []
    /// The resume point's path components below the current root (empty: no resume here).
    /// Frames on the way to it mark the child that leads there (`Frame.resumeAncestor`).
    var resumeComponents: [[UInt8]] = []
    /// Of the current root: where relative paths start, and its device (`--one-file-system`).
    var rootIndex = 0
    var rootPrefix = 0
    var rootDevice: UInt64 = 0
    /// Directories read, for the closing log line.
    var directoriesRead: UInt64 = 0
    /// When this walker last published explicitly (CLOCK_MONOTONIC ns).
    var lastPublish: UInt64 = 0
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Stats directories' entries ahead of the walk, in parallel; nil when there are no helpers or nothing to stat.
    let statAhead: StatAhead?
    let excludeNames: [[CChar]]
    let excludePaths: [[CChar]]

    init(options: WalkOptions, shard: Shard, sink: RecordSink, resume: ResumeToken?, statHelpers: Int) {
        self.options = options
        statAhead = statHelpers > 0 && options.statEntries ? StatAhead(helpers: statHelpers) : nil
        self.shard = shard
        self.sink = sink
        self.resume = resume
        fingerprint = options.fingerprint(instance: shard.instance, instances: shard.instances)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
        let globs = options.excludes.map { $0.map { CChar(bitPattern: $0) } + [0] }
        excludeNames = zip(options.excludes, globs).filter { !$0.0.contains(UInt8(ascii: "/")) }.map(\.1)
        excludePaths = zip(options.excludes, globs).filter { $0.0.contains(UInt8(ascii: "/")) }.map(\.1)
    }

    deinit { readBuffer.deallocate() }

    /// Walks every root (from the resume point on, when there is one).
    mutating func run(_ writer: inout RingWriter) throws(RingWriteError) {
        let first = resume?.rootIndex ?? 0
        for index in options.roots.indices where index >= first {
            try walk(root: index, &writer)
        }
    }

    /// Walks one root: its own entry, then its tree until the stack is empty.
    mutating func walk(root index: Int, _ writer: inout RingWriter) throws(RingWriteError) {
        rootIndex = index
        let root = options.roots[index]
        path.set(root)
        rootPrefix = root.last == UInt8(ascii: "/") ? root.count : root.count + 1
        resumeComponents = []
        if let resume, resume.rootIndex == index {
            resumeComponents = resume.components
        }
        resume = nil
        let emits = shard.emits(depth: 0, relativePath: path.suffix(from: rootPrefix), parentOwned: true)
        // The root is an ancestor of the resume point (emitted before the restart) unless the
        // point is the root itself.
        let ancestorOfResume = !resumeComponents.isEmpty

        var status: EntryStatus
        do { status = try WalkSystem.status(in: nil, path.cString, followingLinks: options.followSymlinks) } catch {
            if emits { try emitOwn(.error(error, operation: .stat, type: .unknown), ancestor: ancestorOfResume, &writer) }
            return
        }
        rootDevice = status.device
        guard status.type == .directory, options.maxDepth > 0 else {
            if emits { try emitOwn(.entry(type: status.type, inode: status.inode, status: entryStatus(status)), ancestor: ancestorOfResume, &writer) }
            return
        }
        var handle: DirectoryHandle? = nil
        var openError: Errno? = nil
        do { handle = try WalkSystem.openDirectory(in: nil, path.cString, follow: options.followSymlinks) } catch { openError = error }
        if emits {
            try emitOwn(.entry(type: .directory, inode: status.inode, status: entryStatus(status)), ancestor: ancestorOfResume, &writer)
            if let openError { try emitDirectoryError(openError, .open, ancestor: ancestorOfResume, &writer) }
        }
        guard let handle else { return }
        try push(handle, identity: status.identity, nameStart: 0, depth: 0, owned: emits, viaSymlink: false,
                 ancestorOfResume: ancestorOfResume, resumeLevel: 0, &writer)
        while !stack.isEmpty {
            let top = stack.count - 1
            let index = stack[top].next
            if index >= stack[top].listing.count {
                try pop(&writer)
                continue
            }
            stack[top].next = index + 1
            try visit(index, in: top, &writer)
        }
    }

    /// Visits entry `index` of the directory on top of the stack: filters, stat, record, descent.
    mutating func visit(_ index: Int, in top: Int, _ writer: inout RingWriter) throws(RingWriteError) {
        let listing = stack[top].listing
        let entry = listing.entries[index]
        let depth = stack[top].depth + 1
        // On the way to the resume point: visited (to descend) but not emitted again. If it cannot
        // be descended any more, the walk simply goes on with the next entry, which is after it.
        let ancestorOfResume = stack[top].resumeAncestor == index

        path.truncate(to: stack[top].pathLength)
        if path.last != UInt8(ascii: "/") { path.append(UInt8(ascii: "/")) }
        let nameStart = path.count
        path.append(listing.name(at: index))
        if !excludeNames.isEmpty || !excludePaths.isEmpty, isExcluded(listing.cName(at: index)) { return }

        let emits = shard.emits(depth: depth, relativePath: path.suffix(from: rootPrefix), parentOwned: stack[top].owned)
        let mayDescend = depth < options.maxDepth && shard.descends(depth: depth, emitted: emits)
        guard emits || mayDescend else { return }

        var type = entry.type
        var status: EntryStatus? = nil
        let needsStatus = (emits && options.statEntries) || type == .unknown || (type == .symlink && options.followSymlinks)
        if needsStatus {
            let outcome: StatOutcome
            if let job = listing.statJob, let ready = job.outcome(index) {
                outcome = ready
            } else {
                do {
                    outcome = .status(try WalkSystem.status(in: stack[top].handle, listing.cName(at: index), followingLinks: options.followSymlinks))
                } catch { outcome = .failed(error) }
            }
            switch outcome {
            case .status(let found):
                status = found
                type = found.type
            case .failed(let error):
                if emits { try emitOwn(.error(error, operation: .stat, type: type), ancestor: ancestorOfResume, &writer) }
                return
            }
        }

        // A subdirectory a stat-ahead helper opened and read already: used if the walk descends.
        var prepared: PreparedDirectory? = nil
        if entry.type == .directory, let statAhead, let job = listing.statJob { prepared = statAhead.take(job, entry: index) }

        // Open a directory before emitting its entry, so a loop is reported instead of it.
        var child: DirectoryHandle? = nil
        var identity = FileIdentity(device: 0, inode: 0)
        var openError: Errno? = nil
        var isLoop = false
        if mayDescend && type == .directory && !(options.oneFileSystem && status.map { $0.device != rootDevice } == true) {
            do {
                let opened: DirectoryHandle
                if let prepared { opened = prepared.handle } else {
                    opened = try WalkSystem.openDirectory(in: stack[top].handle, listing.cName(at: index), follow: options.followSymlinks)
                }
                child = opened
                if let status { identity = status.identity } else { identity = try WalkSystem.status(of: opened).identity }
            } catch { openError = error }
            if let opened = child, openError != nil || (options.oneFileSystem && identity.device != rootDevice) || ancestors.contains(identity) {
                isLoop = openError == nil && ancestors.contains(identity)
                if let taken = prepared { statAhead?.discard(taken) } else { WalkSystem.close(opened) }
                child = nil
                prepared = nil
            }
        }
        if child == nil, let taken = prepared { statAhead?.discard(taken) }

        if emits {
            if isLoop {
                try emitOwn(.error(WalkSystem.loopErrno, operation: .loop, type: .directory), ancestor: ancestorOfResume, &writer)
            } else {
                let header = FileEntryHeader.entry(type: type, inode: status?.inode ?? entry.inode,
                                                   status: options.statEntries ? status : nil)
                try emitOwn(header, ancestor: ancestorOfResume, &writer)
                if let openError { try emitDirectoryError(openError, .open, ancestor: ancestorOfResume, &writer) }
            }
        }
        guard let child else { return }
        try push(child, identity: identity, nameStart: nameStart, depth: depth, owned: emits,
                 viaSymlink: entry.type == .symlink, ancestorOfResume: ancestorOfResume,
                 resumeLevel: stack[top].resumeLevel + 1, prepared: prepared, &writer)
    }

    /// Emits an entry's own record (an entry, or the error that replaces it), after a checkpoint
    /// when one is due. An ancestor of the resume point was emitted before the restart: skipped.
    mutating func emitOwn(_ header: FileEntryHeader, ancestor: Bool, _ writer: inout RingWriter) throws(RingWriteError) {
        if ancestor { return }
        if sink.checkpointDue {
            try sink.checkpoint(ResumeToken(fingerprint: fingerprint, rootIndex: rootIndex,
                                            relativePath: Array(path.suffix(from: rootPrefix))), into: &writer)
        }
        try sink.emit(header, path: path.bytes, into: &writer)
    }

    /// Emits an error about reading a directory whose entry was emitted. On the way to the resume
    /// point it is new (the first run got past it), so it is not counted against the skip.
    mutating func emitDirectoryError(_ error: Errno, _ operation: FileEntryLayout.Operation, ancestor: Bool,
                                     _ writer: inout RingWriter) throws(RingWriteError) {
        try sink.emit(.error(error, operation: operation, type: .directory), path: path.bytes, skippable: !ancestor, into: &writer)
    }

    /// The status to put in an entry record: none with `--no-stat`.
    func entryStatus(_ status: EntryStatus) -> EntryStatus? { options.statEntries ? status : nil }

    /// Whether the entry whose name is `name` (and whose path is in `path`) is excluded.
    func isExcluded(_ name: UnsafePointer<CChar>) -> Bool {
        for glob in excludeNames where glob.withUnsafeBufferPointer({ WalkSystem.matches(glob: $0.baseAddress!, name) }) { return true }
        for glob in excludePaths where glob.withUnsafeBufferPointer({ WalkSystem.matches(glob: $0.baseAddress!, path.cString) }) { return true }
        return false
    }
}
