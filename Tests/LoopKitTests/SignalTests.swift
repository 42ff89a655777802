import Glibc
import LoopKit
import SystemKit
import Testing

@Suite struct SignalNameTests {
    @Test(arguments: [
        ("TERM", Signal.terminate), ("SIGTERM", .terminate), ("term", .terminate), ("INT", .interrupt),
        ("SIGKILL", .kill), ("HUP", .hangup), ("USR1", .user1), ("SIGUSR2", .user2), ("QUIT", .quit),
        ("CHLD", .child), ("PIPE", .pipe), ("15", .terminate), ("SIG9", .kill),
    ])
    func parsesNames(_ name: String, _ signal: Signal) {
        #expect(Signal(name: name) == signal)
    }

    @Test(arguments: ["", "SIG", "TERMINATE", "0", "65", "-1", "SIGFOO"])
    func rejectsUnknownNames(_ name: String) {
        #expect(Signal(name: name) == nil)
    }

    @Test func namesRoundTrip() {
        #expect(Signal.terminate.name == "SIGTERM")
        #expect(Signal.kill.description == "SIGKILL")
        for number in Int32(1)...64 {
            let signal = Signal(rawValue: number)
            #expect(Signal(name: signal.name) == signal, "\(signal.name)")
        }
    }
}

/// Raises real signals at this process: one at a time.
@Suite(.serialized) struct SignalWatchTests {
    @Test func receivesASignalRaisedAtTheProcess() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        var received: [Signal] = []
        var watch: SignalWatch?
        watch = try SignalWatch(loop: loop, signal: .user1) { signal in
            received.append(signal)
            watch?.close()
            guardTimer.close()
        }
        #expect(watch?.signal == .user1)
        try valueOrErrno("kill") { kill(getpid(), SIGUSR1) }
        loop.run()
        #expect(received == [.user1])
    }

    @Test func everyWatchOfTheSignalHearsIt() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        var heard: [String] = []
        var watches: [SignalWatch] = []
        for name in ["first", "second"] {
            watches.append(try SignalWatch(loop: loop, signal: .user2) { _ in
                heard.append(name)
                if heard.count == 2 {
                    watches.forEach { $0.close() }
                    guardTimer.close()
                }
            })
        }
        try valueOrErrno("kill") { kill(getpid(), SIGUSR2) }
        loop.run()
        #expect(heard.sorted() == ["first", "second"])
    }

    @Test func uncatchableSignalIsRefused() throws {
        let loop = try Loop()
        #expect {
            _ = try SignalWatch(loop: loop, signal: .kill) { _ in }
        } throws: { error in
            (error as? SystemError)?.errno == .invalidArgument
        }
    }
}
