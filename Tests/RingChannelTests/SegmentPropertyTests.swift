import Testing
import Glibc
import CShim
import RingChannel
import RingmasterTestSupport

/// What `/dev/shm` says about an entry: its permission bits, or nil when it does not exist.
private func shmMode(_ entry: String) -> UInt32? {
    var st = stat()
    guard stat("/dev/shm/" + entry, &st) == 0 else { return nil }
    return UInt32(st.st_mode) & 0o7777
}

private func exists(_ entry: String) -> Bool { shmMode(entry) != nil }

/// Whether `name` is `/ringmaster.<pid>.<16 lowercase hex digits>`.
private func isSegmentName(_ name: String, pid: Int32) -> Bool {
    let prefix = "/ringmaster.\(pid)."
    guard name.hasPrefix(prefix) else { return false }
    let token = name.dropFirst(prefix.count)
    return token.count == 16 && token.allSatisfy { "0123456789abcdef".contains($0) }
}

@Suite struct SegmentPropertyTests {
    static let geometry = try! RingGeometry(capacity: 8192, maxRecord: 1024)

    @Test func memfdIsSealedAgainstResizing() throws {
        let segment = try Segment.createMemfd(label: "sealed", geometry: Self.geometry)
        let fd = segment.descriptor.rawValue
        let seals = cshim_get_seals(fd)
        #expect(seals >= 0)
        #expect(seals & CSHIM_SEAL_SHRINK != 0)
        #expect(seals & CSHIM_SEAL_GROW != 0)
        #expect(seals & CSHIM_SEAL_SEAL != 0)
        #expect(seals & CSHIM_SEAL_WRITE == 0)   // both sides must still write

        #expect(ftruncate(fd, 4096) == -1)
        #expect(errno == EPERM)
        #expect(ftruncate(fd, 1 << 20) == -1)
        #expect(errno == EPERM)
        #expect(ftruncate(fd, 0) == -1)
        #expect(errno == EPERM)
        #expect(cshim_add_seals(fd, CSHIM_SEAL_WRITE) == -1)   // no more seals either
        #expect(errno == EPERM)
        #expect(try segment.descriptor.size() == 4096 + 8192)
    }

    @Test func memfdNameShowsInProc() throws {
        let segment = try Segment.createMemfd(label: "walker.3", geometry: Self.geometry)
        var buffer = [CChar](repeating: 0, count: 512)
        let n = readlink("/proc/self/fd/\(segment.descriptor.rawValue)", &buffer, buffer.count - 1)
        #expect(n > 0)
        let link = String(decoding: buffer.prefix(max(0, n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(link.contains("memfd:ringmaster:walker.3"), "\(link)")
        #expect(try segment.descriptor.closesOnExec())
    }

    @Test func posixSegmentIsOwnerOnlyAndUnguessablyNamed() throws {
        let segment = try Segment.createPosix(geometry: Self.geometry)
        let name = try #require(segment.posixName)
        #expect(isSegmentName(name, pid: getpid()), "\(name)")
        #expect(try segment.descriptor.permissions() == 0o600)
        #expect(shmMode(String(name.dropFirst())) == 0o600)
        #expect(try segment.descriptor.closesOnExec())
        #expect(segment.kind == .posix)

        // Two segments never share a name.
        let other = try Segment.createPosix(geometry: Self.geometry)
        #expect(other.posixName != name)
        other.close()

        segment.close()
        #expect(!exists(String(name.dropFirst())))
        segment.close()   // idempotent
    }

    @Test func unlinkNameRemovesTheNameButKeepsTheMapping() throws {
        let channel = try Channel.create(kind: .posix, label: "unlink", geometry: Self.geometry)
        let entry = String(try #require(channel.segment.posixName).dropFirst())
        #expect(exists(entry))
        channel.segment.unlinkName()
        #expect(!exists(entry))
        var writer = channel.makeWriter()
        var reader = channel.makeReader()
        try writer.send(bytes: [4, 5, 6])
        var payloads: [[UInt8]] = []
        _ = try reader.drain { payloads.append($0.bytes) }
        #expect(payloads == [[4, 5, 6]])
    }

    /// Creates a posix channel, checks its names exist, and lets it go; returns the names.
    private func createAndDropPosixChannel() throws -> (segment: String, data: String, space: String) {
        let channel = try Channel.create(kind: .posix, label: "names", geometry: Self.geometry)
        let name = try #require(channel.segment.posixName)
        let entries = (String(name.dropFirst()), "sem." + name.dropFirst() + ".data", "sem." + name.dropFirst() + ".space")
        #expect(shmMode(entries.0) == 0o600)
        #expect(shmMode(entries.1) == 0o600)
        #expect(shmMode(entries.2) == 0o600)
        #expect(channel.notifiers.environmentValue() == "sem:\(name).data,\(name).space")
        #expect(channel.childContract().environment["RINGMASTER_SEGMENT"] == "shm:\(name)")
        #expect(channel.childContract().inherited.isEmpty)
        return entries
    }

    @Test func posixNamesAreUnlinkedWhenTheChannelGoes() throws {
        let entries = try createAndDropPosixChannel()
        #expect(!exists(entries.segment))
        #expect(!exists(entries.data))
        #expect(!exists(entries.space))
    }

    @Test func sweepRemovesNamesOfDeadCreatorsOnly() throws {
        // A pid that is certainly dead: a child we started and reaped.
        let child = try spawnChild("/bin/true", [])
        #expect(child.wait() == .exited(0))
        let dead = child.pid
        let live = getpid()
        #expect(kill(dead, 0) == -1 && errno == ESRCH)

        func token() -> String { String(PosixNames.makeSegmentName().split(separator: ".").last!) }
        let deadName = "/ringmaster.\(dead).\(token())"
        let liveName = "/ringmaster.\(live).\(token())"
        let oddName = "/ringmaster.nopid.\(token())"
        for name in [deadName, liveName, oddName] {
            let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            #expect(fd >= 0, "shm_open \(name)")
            if fd >= 0 { close(fd) }
        }
        for name in [deadName + ".data", deadName + ".space", liveName + ".data"] {
            let semaphore = cshim_sem_create(name, 0o600, 0)
            #expect(semaphore != nil, "sem_open \(name)")
            if let semaphore { sem_close(semaphore) }
        }
        defer {
            for name in [deadName, liveName, oddName] { shm_unlink(name) }
            for name in [deadName + ".data", deadName + ".space", liveName + ".data"] { sem_unlink(name) }
        }

        let result = PosixNames.sweepStale(directory: "/dev/shm")
        let removed = Set(result.removed)
        let deadEntries = [String(deadName.dropFirst()), "sem." + deadName.dropFirst() + ".data", "sem." + deadName.dropFirst() + ".space"]
        let keptEntries = [String(liveName.dropFirst()), "sem." + liveName.dropFirst() + ".data", String(oddName.dropFirst())]
        for entry in deadEntries {
            #expect(removed.contains(entry), "\(entry) not reported removed")
            #expect(!exists(entry), "\(entry) still exists")
        }
        for entry in keptEntries {
            #expect(!removed.contains(entry), "\(entry) removed")
            #expect(exists(entry), "\(entry) is gone")
        }
        #expect(result.removed.allSatisfy { $0.hasPrefix("ringmaster.") || $0.hasPrefix("sem.ringmaster.") })
    }

    @Test func segmentNameEmbedsTheGivenPid() {
        #expect(isSegmentName(PosixNames.makeSegmentName(pid: 4242), pid: 4242))
        var names = Set<String>()
        for _ in 0..<1000 { names.insert(PosixNames.makeSegmentName()) }
        #expect(names.count == 1000)
    }

    struct BadGeometry: Sendable, CustomTestStringConvertible {
        let capacity: UInt64
        let maxRecord: UInt32
        let complaint: String
        var testDescription: String { "capacity \(capacity), max record \(maxRecord)" }
    }

    @Test(arguments: [
        BadGeometry(capacity: 0, maxRecord: 1, complaint: "power of two"),
        BadGeometry(capacity: 2048, maxRecord: 1, complaint: "power of two from 4096"),
        BadGeometry(capacity: 4095, maxRecord: 1, complaint: "power of two"),
        BadGeometry(capacity: 6144, maxRecord: 8, complaint: "power of two"),
        BadGeometry(capacity: 65537, maxRecord: 8, complaint: "power of two"),
        BadGeometry(capacity: 1 << 41, maxRecord: 8, complaint: "1 TiB"),
        BadGeometry(capacity: 4096, maxRecord: 513, complaint: "capacity/8 = 512"),
        BadGeometry(capacity: 4096, maxRecord: 0, complaint: "max record"),
        BadGeometry(capacity: 1 << 20, maxRecord: (1 << 17) + 1, complaint: "capacity/8 = 131072"),
    ])
    func invalidGeometryIsRefused(bad: BadGeometry) {
        do {
            let geometry = try RingGeometry(capacity: bad.capacity, maxRecord: bad.maxRecord)
            Issue.record("accepted \(geometry)")
        } catch {
            #expect(error.message.contains(bad.complaint), "\(error.message)")
            #expect(error.message.contains("got"), "\(error.message)")
        }
    }

    @Test(arguments: [(UInt64(4096), UInt32(512)), (4096, 1), (1 << 20, 1 << 17), (4 << 20, 256 << 10)])
    func validGeometryIsAccepted(capacity: UInt64, maxRecord: UInt32) throws {
        let geometry = try RingGeometry(capacity: capacity, maxRecord: maxRecord)
        #expect(geometry.capacity == capacity)
        #expect(geometry.maxRecord == maxRecord)
    }

    @Test func defaultGeometryIsTheManifestDefault() {
        #expect(RingGeometry.default.capacity == 4 << 20)
        #expect(RingGeometry.default.maxRecord == 256 << 10)
    }
}
