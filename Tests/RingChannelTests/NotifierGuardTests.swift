import CShim
import Glibc
import RingChannel
import Synchronization
import Testing

/// A hostile producer shares the space-free eventfd's open file description: it can clear
/// O_NONBLOCK and fill the counter so that a plain `write` of 1 would block the supervisor.
@Suite struct NotifierGuardTests {
    @Test func releaseDoesNotBlockWhenTheProducerClearedNonBlockAndFilledTheCounter() throws {
        let channel = try Channel.create(kind: .memfd, label: "guard.0", geometry: RingGeometry(capacity: 4096, maxRecord: 512))
        let spaceFree = try #require(channel.notifiers.spaceFree as? EventFD)
        let fd = spaceFree.descriptor.rawValue
        // What the hostile child does through its copy of the descriptor.
        let flags = fcntl(fd, F_GETFL)
        #expect(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0)
        var nearlyFull: UInt64 = 0xFFFF_FFFF_FFFF_FFFE
        #expect(write(fd, &nearlyFull, 8) == 8)
        channel.segment.region.base.storeBytes(of: UInt32(1), toByteOffset: SegmentLayout.producerWaitingOffset, as: UInt32.self)

        var writer = channel.makeWriter()
        try writer.send(bytes: [1, 2, 3])
        var reader = channel.makeReader()
        let summary = try reader.drain { _ in }
        #expect(summary.records == 1)

        // Release (which signals space-free) on another thread, with a bounded wait here.
        let done = Atomic<Bool>(false)
        let end = summary.end
        let box = ReaderBox(reader)
        let thread = Thread { box.release(through: end); done.store(true, ordering: .releasing) }
        thread.start()
        var waited = 0
        while !done.load(ordering: .acquiring) && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        let finished = done.load(ordering: .acquiring)
        #expect(finished, "release blocked on the tampered eventfd")
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0, "O_NONBLOCK was put back")
    }
}

/// Moves a reader to another thread for one call.
final class ReaderBox: @unchecked Sendable {
    private var reader: RingReader?
    init(_ reader: consuming RingReader) { self.reader = consume reader }
    func release(through end: UInt64) {
        if var r = reader.take() {
            r.release(through: end)
            reader = consume r
        }
    }
}

/// A minimal thread for the test (Foundation-free).
final class Thread: @unchecked Sendable {
    private let body: () -> Void
    private var handle = pthread_t()
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, context)
        pthread_detach(handle)
    }
}

/// The bounded write under the notifier: a write that would block is interrupted.
@Suite struct BoundedWriteTests {
    @Test func aBlockingWriteIntoAFullEventfdIsInterrupted() throws {
        let eventfd = try EventFD()
        let fd = eventfd.descriptor.rawValue
        #expect(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0)
        var nearlyFull: UInt64 = 0xFFFF_FFFF_FFFF_FFFE
        #expect(write(fd, &nearlyFull, 8) == 8)
        var one: UInt64 = 1
        let n = cshim_write_bounded(fd, &one, 8, 20_000_000)
        let error = Errno.current
        #expect(n == -1)
        #expect(error == .interrupted)
    }

    @Test func aWriteThatFitsIsUnaffected() throws {
        let eventfd = try EventFD()
        var one: UInt64 = 1
        #expect(cshim_write_bounded(eventfd.descriptor.rawValue, &one, 8, 20_000_000) == 8)
        #expect(try eventfd.consume())
    }
}
