import RingChannel
import SystemKit

extension Walker {
    /// Reads the directory behind `handle` and puts it on the stack. On the way to the resume
    /// point, the new frame starts at the first entry not below the next path component.
    /// A directory a stat-ahead helper read already (`prepared`) comes with its listing.
    mutating func push(_ handle: DirectoryHandle, identity: FileIdentity, nameStart: Int, depth: Int, owned: Bool,
                       viaSymlink: Bool, ancestorOfResume: Bool, resumeLevel: Int, prepared: PreparedDirectory? = nil,
                       _ writer: inout RingWriter) throws(RingWriteError) {
        // The batch publishes every 64 KiB; on a slow tree, also at least every 50 ms, so a
        // consumer is not kept waiting. Not at every directory: each publish may wake the reader.
        let now = MonotonicClock.now()
        if now &- lastPublish >= 50_000_000 {
            writer.publish()
            lastPublish = now
        }
        let (listing, readError) = prepared.map { ($0.listing, $0.readError) } ?? DirectoryListing.read(handle, buffer: readBuffer)
        directoriesRead += 1
        if owned, let readError { try emitDirectoryError(readError, .read, ancestor: ancestorOfResume, &writer) }
        // Every child of this directory will be stat'ed by this instance: the helpers start on
        // them now, in the background, while this thread walks the entries (and those below).
        // With one instance they also read the next subdirectories ahead (not across links or
        // devices, nor with excludes: only directories the walk will surely descend into).
        if let statAhead, shard.instances == 1 || (depth >= shard.splitDepth && owned) {
            let readAhead = shard.instances == 1 && !options.followSymlinks && !options.oneFileSystem && options.excludes.isEmpty
            listing.startStats(in: handle, follow: options.followSymlinks, pool: statAhead,
                               readAheadLevels: readAhead ? max(0, options.maxDepth - depth - 1) : 0)
        }
        var frame = Frame(listing: listing, handle: handle, identity: identity, nameStart: nameStart,
                          pathLength: path.count, depth: depth, owned: owned, viaSymlink: viaSymlink, resumeLevel: resumeLevel)
        if ancestorOfResume && resumeLevel < resumeComponents.count {
            let component = resumeComponents[resumeLevel]
            frame.next = listing.lowerBound(component)
            let isLast = resumeLevel == resumeComponents.count - 1
            // Otherwise the resume entry itself (or, if it is gone, the first one after it) is next.
            if !isLast && frame.next < listing.count && listing.name(at: frame.next, equals: component) {
                frame.resumeAncestor = frame.next
            }
        }
        if stack.count >= Self.maxOpenDirectories, let far = stack[stack.count - Self.maxOpenDirectories].handle {
            // Its helpers' work ends first: they stat relative to this descriptor.
            if let job = stack[stack.count - Self.maxOpenDirectories].listing.statJob { statAhead?.finish(job) }
            WalkSystem.close(far)
            stack[stack.count - Self.maxOpenDirectories].handle = nil
        }
        ancestors.insert(identity)
        stack.append(frame)
    }

    /// Takes the finished directory off the stack, and makes sure the one below has its descriptor.
    mutating func pop(_ writer: inout RingWriter) throws(RingWriteError) {
        let finished = stack.removeLast()
        ancestors.remove(finished.identity)
        if let job = finished.listing.statJob { statAhead?.finish(job) }
        defer { if let handle = finished.handle { WalkSystem.close(handle) } }
        guard let below = stack.indices.last, stack[below].handle == nil else { return }
        do {
            stack[below].handle = try reopen(below, from: finished)
        } catch {
            // The directory went away under the walk: report it, and go on after it.
            path.truncate(to: stack[below].pathLength)
            if stack[below].owned { try emitDirectoryError(error, .open, ancestor: false, &writer) }
            stack[below].next = stack[below].listing.count
        }
    }

    /// Opens directory `index` of the stack again: through `..` of the directory just left when
    /// that is the same directory (same device and inode), else name by name from the nearest
    /// directory still open (or from the root's path). Paths deeper than PATH_MAX work either way.
    func reopen(_ index: Int, from child: borrowing Frame) throws(Errno) -> DirectoryHandle {
        if !child.viaSymlink, let childHandle = child.handle {
            let dotDot: [CChar] = [0x2E, 0x2E, 0]
            if let parent = try? dotDot.withUnsafeBufferPointer({ try WalkSystem.openDirectory(in: childHandle, $0.baseAddress!, follow: false) }) {
                if (try? WalkSystem.status(of: parent).identity) == stack[index].identity { return parent }
                WalkSystem.close(parent)
            }
        }
        var start = index
        while start > 0 && stack[start - 1].handle == nil { start -= 1 }
        var current: DirectoryHandle?
        var owned = false
        if start == 0 {
            current = try openComponent(nil, path.bytes[..<stack[0].pathLength])
            owned = true
        } else {
            current = stack[start - 1].handle
        }
        var level = start == 0 ? 1 : start
        while level <= index {
            let name = path.bytes[stack[level].nameStart..<stack[level].pathLength]
            let next: DirectoryHandle
            do { next = try openComponent(current, name) } catch {
                if owned, let current { WalkSystem.close(current) }
                throw error
            }
            if owned, let current { WalkSystem.close(current) }
            current = next
            owned = true
            level += 1
        }
        guard let opened = current else { throw Errno(rawValue: 9) }
        let identity: FileIdentity
        do { identity = try WalkSystem.status(of: opened).identity } catch {
            WalkSystem.close(opened)
            throw error
        }
        guard identity == stack[index].identity else {
            WalkSystem.close(opened)
            throw WalkSystem.noSuchFileErrno
        }
        return opened
    }

    /// Opens one path component (or a root path) below `directory`.
    private func openComponent(_ directory: DirectoryHandle?, _ name: Slice<UnsafeRawBufferPointer>) throws(Errno) -> DirectoryHandle {
        let cName = Array(name).map { CChar(bitPattern: $0) } + [0]
        do {
            return try cName.withUnsafeBufferPointer { buffer in
                try WalkSystem.openDirectory(in: directory, buffer.baseAddress!, follow: options.followSymlinks)
            }
        } catch let error as Errno {
            throw error
        } catch {
            throw Errno(rawValue: 5)
        }
    }
}
