import Testing
import Glibc
import RingChannel
import RingmasterTestSupport

/// The lifeline: when the supervisor's end of the pipe closes, a producer exits with status 75,
/// whether it is blocked on a full ring or idle.
@Suite(.serialized) struct LifelineTests {
    /// Where the child finds the read end of the lifeline pipe.
    static let lifelineTarget: CInt = 10

    /// Starts the test producer with `lifeline`'s read end as its lifeline (and closes that end here).
    private func start(kind: ChannelKind, arguments: [String], lifeline: (read: FileDescriptor, write: FileDescriptor)) throws -> ProducerSession {
        let session = try ProducerSession(
            kind: kind, geometry: RingGeometry(capacity: 4096, maxRecord: 512), arguments: arguments,
            environment: ["RINGMASTER_LIFELINE": "fd:\(Self.lifelineTarget)"],
            extraInherited: [Channel.Inherited(source: lifeline.read, target: Self.lifelineTarget)])
        lifeline.read.close()   // the child holds it now
        return session
    }

    /// Waits (bounded, about 10 s) for the child to end; kills it if it does not.
    private func waitForExit(_ child: SpawnedProcess) -> RingmasterTestSupport.ExitStatus? {
        var status: RingmasterTestSupport.ExitStatus?
        _ = eventually { status = child.poll(); return status != nil }
        if status == nil {
            child.kill(SIGKILL)
            child.wait()
        }
        return status
    }

    @Test(arguments: ChannelKind.allCases)
    func blockedProducerExitsWhenTheLifelineCloses(kind: ChannelKind) throws {
        let lifeline = makePipe()
        let session = try start(kind: kind, arguments: ["--forever", "--min-size", "100", "--max-size", "400"], lifeline: lifeline)
        let raw = RawSegment(session.channel.segment)
        // Nobody drains: the producer fills the ring and sleeps in `producer_waiting`.
        let blocked = eventually { raw.load32(SegmentLayout.producerWaitingOffset) == 1 }
        #expect(blocked, "the producer never blocked on the full ring")
        // Blocked means less room than a frame (≤ 416 bytes) plus a PAD before it.
        #expect(session.reader.pendingBytes > 4096 - 2 * 416)
        #expect(session.child.poll() == nil, "the producer ended before the lifeline closed")

        lifeline.write.close()
        #expect(waitForExit(session.child) == .exited(75))
    }

    @Test(arguments: ChannelKind.allCases)
    func idleProducerExitsWhenTheLifelineCloses(kind: ChannelKind) throws {
        let lifeline = makePipe()
        var session = try start(kind: kind, arguments: ["--records", "0", "--linger-ms", "60000"], lifeline: lifeline)
        // It sends its end-of-stream, then lingers for a minute.
        let finished = eventually {
            _ = session.drainOnce()
            return session.outcome.sawEndOfStream
        }
        #expect(finished)
        #expect(session.outcome.sequences.isEmpty)
        #expect(session.child.poll() == nil, "the producer ended before the lifeline closed")

        lifeline.write.close()
        #expect(waitForExit(session.child) == .exited(75))
    }

    @Test func producerWithAnOpenLifelineKeepsRunning() throws {
        let lifeline = makePipe()
        var session = try start(kind: .memfd, arguments: ["--records", "200"], lifeline: lifeline)
        let status = try session.readUntilExit()
        lifeline.write.close()
        #expect(status == .exited(0))
        #expect(session.outcome.sequences.elementsEqual(0..<200))
        #expect(session.outcome.sawEndOfStream)
    }
}
