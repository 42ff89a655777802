import Testing
import Glibc
import CShim
import RingChannel
import RingmasterProducer
import RingmasterTestSupport

/// A contract that `ProducerEnvironment.parse` must refuse, and the error it must give.
struct BadEnvironment: Sendable, CustomTestStringConvertible {
    let name: String
    let variables: [String: String]
    let error: ProducerAttachError
    var testDescription: String { name }
}

/// A contract `parse` must accept, and what it must read from it.
struct GoodEnvironment: Sendable, CustomTestStringConvertible {
    let name: String
    let variables: [String: String]
    let segment: ProducerEnvironment.SegmentLocation
    let notify: ProducerEnvironment.NotifyLocation
    var lifeline: CInt? = nil
    var worker = "worker"
    var instance = 0
    var instances = 1
    var generation: UInt64 = 0
    var resume: ResumePoint? = nil
    var testDescription: String { name }
}

private let fdBase = ["RINGMASTER_SEGMENT": "fd:3", "RINGMASTER_NOTIFY": "eventfd:4,5"]
private func with(_ extra: [String: String]) -> [String: String] { fdBase.merging(extra) { $1 } }

@Suite struct ProducerSDKTests {
    static let bad: [BadEnvironment] = [
        BadEnvironment(name: "no segment", variables: [:], error: .notUnderSupervisor),
        BadEnvironment(name: "no segment, notify set", variables: ["RINGMASTER_NOTIFY": "eventfd:4,5"], error: .notUnderSupervisor),
        BadEnvironment(name: "segment fd not a number", variables: with(["RINGMASTER_SEGMENT": "fd:x"]),
                       error: .malformed(variable: "RINGMASTER_SEGMENT", value: "fd:x", expected: "fd:N or shm:/name")),
        BadEnvironment(name: "segment fd negative", variables: with(["RINGMASTER_SEGMENT": "fd:-1"]),
                       error: .malformed(variable: "RINGMASTER_SEGMENT", value: "fd:-1", expected: "fd:N or shm:/name")),
        BadEnvironment(name: "segment shm without name", variables: with(["RINGMASTER_SEGMENT": "shm:/"]),
                       error: .malformed(variable: "RINGMASTER_SEGMENT", value: "shm:/", expected: "fd:N or shm:/name")),
        BadEnvironment(name: "segment shm without slash", variables: with(["RINGMASTER_SEGMENT": "shm:ringmaster.1"]),
                       error: .malformed(variable: "RINGMASTER_SEGMENT", value: "shm:ringmaster.1", expected: "fd:N or shm:/name")),
        BadEnvironment(name: "segment unknown form", variables: with(["RINGMASTER_SEGMENT": "3"]),
                       error: .malformed(variable: "RINGMASTER_SEGMENT", value: "3", expected: "fd:N or shm:/name")),
        BadEnvironment(name: "no notify", variables: ["RINGMASTER_SEGMENT": "fd:3"],
                       error: .missing(variable: "RINGMASTER_NOTIFY", expected: "eventfd:D,S or sem:/name.data,/name.space")),
        BadEnvironment(name: "eventfd with one number", variables: with(["RINGMASTER_NOTIFY": "eventfd:4"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "eventfd:4", expected: "eventfd:D,S with two different descriptor numbers")),
        BadEnvironment(name: "eventfd twice the same", variables: with(["RINGMASTER_NOTIFY": "eventfd:4,4"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "eventfd:4,4", expected: "eventfd:D,S with two different descriptor numbers")),
        BadEnvironment(name: "eventfd three numbers", variables: with(["RINGMASTER_NOTIFY": "eventfd:4,5,6"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "eventfd:4,5,6", expected: "eventfd:D,S with two different descriptor numbers")),
        BadEnvironment(name: "eventfd negative", variables: with(["RINGMASTER_NOTIFY": "eventfd:-4,5"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "eventfd:-4,5", expected: "eventfd:D,S with two different descriptor numbers")),
        BadEnvironment(name: "sem with one name", variables: with(["RINGMASTER_NOTIFY": "sem:/a.data"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "sem:/a.data", expected: "sem:/name.data,/name.space")),
        BadEnvironment(name: "sem without slashes", variables: with(["RINGMASTER_NOTIFY": "sem:a.data,a.space"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "sem:a.data,a.space", expected: "sem:/name.data,/name.space")),
        BadEnvironment(name: "notify unknown form", variables: with(["RINGMASTER_NOTIFY": "pipe:4,5"]),
                       error: .malformed(variable: "RINGMASTER_NOTIFY", value: "pipe:4,5", expected: "eventfd:D,S or sem:/name.data,/name.space")),
        BadEnvironment(name: "lifeline without fd:", variables: with(["RINGMASTER_LIFELINE": "7"]),
                       error: .malformed(variable: "RINGMASTER_LIFELINE", value: "7", expected: "fd:N")),
        BadEnvironment(name: "instance not a number", variables: with(["RINGMASTER_INSTANCE": "one"]),
                       error: .malformed(variable: "RINGMASTER_INSTANCE", value: "one", expected: "a non-negative integer")),
        BadEnvironment(name: "instance out of pool", variables: with(["RINGMASTER_INSTANCE": "2", "RINGMASTER_INSTANCES": "2"]),
                       error: .malformed(variable: "RINGMASTER_INSTANCE", value: "2", expected: "an index below RINGMASTER_INSTANCES (2)")),
        BadEnvironment(name: "empty pool", variables: with(["RINGMASTER_INSTANCES": "0"]),
                       error: .malformed(variable: "RINGMASTER_INSTANCE", value: "0", expected: "an index below RINGMASTER_INSTANCES (0)")),
        BadEnvironment(name: "negative generation", variables: with(["RINGMASTER_GENERATION": "-1"]),
                       error: .malformed(variable: "RINGMASTER_GENERATION", value: "-1", expected: "a non-negative integer")),
        BadEnvironment(name: "resume not base64", variables: with(["RINGMASTER_RESUME": "not base64!"]),
                       error: .malformed(variable: "RINGMASTER_RESUME", value: "not base64!", expected: "base64")),
        BadEnvironment(name: "resume skip not a number", variables: with(["RINGMASTER_RESUME": "MzUw", "RINGMASTER_RESUME_SKIP": "x"]),
                       error: .malformed(variable: "RINGMASTER_RESUME_SKIP", value: "x", expected: "a non-negative integer")),
        BadEnvironment(name: "skip alone not a number", variables: with(["RINGMASTER_RESUME_SKIP": "-3"]),
                       error: .malformed(variable: "RINGMASTER_RESUME_SKIP", value: "-3", expected: "a non-negative integer")),
    ]

    @Test(arguments: bad)
    func malformedContractIsRefused(bad: BadEnvironment) {
        #expect(throws: bad.error) { _ = try ProducerEnvironment.parse(bad.variables) }
    }

    @Test func notUnderSupervisorTellsTheUserWhatToDo() {
        let text = ProducerAttachError.notUnderSupervisor.description
        #expect(text.contains("RINGMASTER_SEGMENT is not set"))
        #expect(text.contains("must be started by the supervisor"))
        #expect(text.contains("ringmaster run"))
        #expect(ProducerAttachError.malformed(variable: "RINGMASTER_SEGMENT", value: "fd:x", expected: "fd:N or shm:/name").description
                == "RINGMASTER_SEGMENT=fd:x is malformed (expected fd:N or shm:/name)")
    }

    static let good: [GoodEnvironment] = [
        GoodEnvironment(name: "eventfd, defaults", variables: fdBase, segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5)),
        GoodEnvironment(name: "posix names", variables: ["RINGMASTER_SEGMENT": "shm:/ringmaster.1.00ff", "RINGMASTER_NOTIFY": "sem:/ringmaster.1.00ff.data,/ringmaster.1.00ff.space"],
                        segment: .posixName("/ringmaster.1.00ff"),
                        notify: .semaphores(dataReady: "/ringmaster.1.00ff.data", spaceFree: "/ringmaster.1.00ff.space")),
        GoodEnvironment(name: "identity and lifeline",
                        variables: with(["RINGMASTER_LIFELINE": "fd:9", "RINGMASTER_WORKER": "walker", "RINGMASTER_INSTANCE": "2",
                                         "RINGMASTER_INSTANCES": "4", "RINGMASTER_GENERATION": "17"]),
                        segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5),
                        lifeline: 9, worker: "walker", instance: 2, instances: 4, generation: 17),
        GoodEnvironment(name: "resume token and skip", variables: with(["RINGMASTER_RESUME": "MzUw", "RINGMASTER_RESUME_SKIP": "7"]),
                        segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5),
                        resume: ResumePoint(token: Array("350".utf8), skip: 7)),
        GoodEnvironment(name: "resume token without skip", variables: with(["RINGMASTER_RESUME": "AAEC/w=="]),
                        segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5),
                        resume: ResumePoint(token: [0, 1, 2, 255], skip: 0)),
        GoodEnvironment(name: "empty resume token", variables: with(["RINGMASTER_RESUME": "", "RINGMASTER_RESUME_SKIP": "2"]),
                        segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5),
                        resume: ResumePoint(token: [], skip: 2)),
        GoodEnvironment(name: "skip before any checkpoint", variables: with(["RINGMASTER_RESUME_SKIP": "5"]),
                        segment: .descriptor(3), notify: .eventfds(dataReady: 4, spaceFree: 5),
                        resume: ResumePoint(token: nil, skip: 5)),
    ]

    @Test(arguments: good)
    func wellFormedContractIsRead(good: GoodEnvironment) throws {
        let env = try ProducerEnvironment.parse(good.variables)
        #expect(env.segment == good.segment)
        #expect(env.notify == good.notify)
        #expect(env.lifeline == good.lifeline)
        #expect(env.worker == good.worker)
        #expect(env.instance == good.instance)
        #expect(env.instances == good.instances)
        #expect(env.generation == good.generation)
        #expect(env.resume == good.resume)
    }

    @Test func base64KnownVectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
    }

    @Test func base64RoundTripsRandomBytes() {
        var rng = SeededRandom(seed: 64)
        for length in 0..<300 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(text) == bytes, "length \(length)")
        }
    }

    @Test(arguments: ["Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "=Zg=", "Zg=a", "Zm9 ", "Zm9vY"])
    func base64RefusesMalformedText(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    /// A header change made after creation, and how attaching to it must fail.
    struct BadHeader: Sendable, CustomTestStringConvertible {
        let name: String
        let offset: Int
        let value: UInt64
        let width: Int
        let error: SegmentAttachError
        var testDescription: String { name }
    }

    @Test(arguments: [
        BadHeader(name: "magic", offset: SegmentLayout.magicOffset, value: 0x4F4E_5354_4D47_4E49, width: 8,
                  error: .badMagic(found: 0x4F4E_5354_4D47_4E49)),
        BadHeader(name: "magic zero", offset: SegmentLayout.magicOffset, value: 0, width: 8, error: .badMagic(found: 0)),
        BadHeader(name: "version 2", offset: SegmentLayout.versionOffset, value: 2, width: 4, error: .unsupportedVersion(found: 2)),
        BadHeader(name: "version 0", offset: SegmentLayout.versionOffset, value: 0, width: 4, error: .unsupportedVersion(found: 0)),
        BadHeader(name: "header size", offset: SegmentLayout.headerSizeOffset, value: 8192, width: 4,
                  error: .badHeader(field: "header size", value: 8192, expected: "4096")),
        BadHeader(name: "data offset", offset: SegmentLayout.dataOffsetOffset, value: 64, width: 4,
                  error: .badHeader(field: "data offset", value: 64, expected: "4096")),
        BadHeader(name: "capacity beyond the segment", offset: SegmentLayout.capacityOffset, value: 1 << 20, width: 8,
                  error: .badHeader(field: "capacity", value: 1 << 20, expected: "at most 8192 (the segment's size)")),
    ])
    func attachingToACorruptHeaderFails(bad: BadHeader) throws {
        let channel = try Channel.create(kind: .memfd, label: "attach", geometry: RingGeometry(capacity: 8192, maxRecord: 1024))
        let raw = RawSegment(channel.segment)
        if bad.width == 8 { raw.store64(bad.value, bad.offset) } else { raw.store32(UInt32(bad.value), bad.offset) }
        let environment = try inProcessEnvironment(for: channel)
        do {
            _ = try Producer.attach(environment: environment.variables)
            Issue.record("attached to a segment with a bad \(bad.name)")
        } catch {
            environment.closeNotifiers()
            #expect(error == .segment(bad.error))
            #expect(error.description.contains(bad.name.hasPrefix("magic") ? "not a Ringmaster segment" : bad.name.hasPrefix("version") ? "not supported" : "expected"))
        }
    }

    @Test func attachingToAnInvalidGeometryFails() throws {
        let channel = try Channel.create(kind: .memfd, label: "attach", geometry: RingGeometry(capacity: 8192, maxRecord: 1024))
        RawSegment(channel.segment).store64(3000, SegmentLayout.capacityOffset)
        let environment = try inProcessEnvironment(for: channel)
        do {
            _ = try Producer.attach(environment: environment.variables)
            Issue.record("attached to a segment of capacity 3000")
        } catch {
            environment.closeNotifiers()
            guard case .segment(.badHeader(let field, let value, _)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(field == "capacity/max record")
            #expect(value == 3000)
        }
    }

    @Test func attachingToATruncatedSegmentFails() throws {
        // A memfd smaller than a header page (not a channel's: nothing seals it).
        let small = cshim_memfd_create_sealable("ringmaster:small", 1)
        #expect(small >= 0)
        #expect(ftruncate(small, 100) == 0)
        let channel = try Channel.create(kind: .memfd, label: "attach", geometry: RingGeometry(capacity: 8192, maxRecord: 1024))
        var environment = try inProcessEnvironment(for: channel)
        close(CInt(environment.variables["RINGMASTER_SEGMENT"]!.dropFirst(3))!)
        environment.variables["RINGMASTER_SEGMENT"] = "fd:\(small)"   // attach owns it from here
        do {
            _ = try Producer.attach(environment: environment.variables)
            Issue.record("attached to a 100-byte segment")
        } catch {
            environment.closeNotifiers()
            #expect(error == .segment(.tooSmall(size: 100)))
        }
    }

    @Test func testProducerOutsideTheSupervisorExplainsItself() throws {
        let errors = makePipe()
        let child = try spawnChild(testProducerPath, ["--records", "1"],
                                   inherited: [Channel.Inherited(source: errors.write, target: 2)])
        errors.write.close()
        let text = String(decoding: readAll(errors.read), as: UTF8.self)
        errors.read.close()
        #expect(child.wait() == .exited(2))
        #expect(text.contains("RINGMASTER_SEGMENT is not set"), "\(text)")
        #expect(text.contains("must be started by the supervisor"), "\(text)")
    }
}
