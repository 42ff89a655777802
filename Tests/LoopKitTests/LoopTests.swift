import Glibc
import LoopKit
import Synchronization
import SystemKit
import Testing

/// A flag shared with another thread.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

@Suite struct TimerTests {
    @Test func oneShotFiresOnce() throws {
        let loop = try Loop()
        let timer = Timer(loop: loop)
        var fired = 0
        timer.start(after: .milliseconds(1)) { fired += 1 }
        #expect(timer.isActive)
        loop.run()  // returns once the one-shot timer fired: nothing else is active
        #expect(fired == 1)
        #expect(!timer.isActive)
        timer.close()
    }

    @Test func repeatingFiresUntilStopped() throws {
        let loop = try Loop()
        let timer = Timer(loop: loop)
        var fired = 0
        timer.start(after: .milliseconds(1), repeating: .milliseconds(1)) {
            fired += 1
            if fired == 5 { timer.stop() }
        }
        loop.run()
        #expect(fired == 5)
        #expect(!timer.isActive)
        timer.close()
    }

    @Test func stopFromACallbackEndsRun() throws {
        let loop = try Loop()
        let timer = Timer(loop: loop)
        var fired = 0
        timer.start(after: .zero, repeating: .milliseconds(1)) {
            fired += 1
            if fired == 3 { loop.stop() }
        }
        loop.run()
        #expect(fired == 3)
        #expect(timer.isActive)  // still scheduled: stop() ended run, not the timer
        timer.close()
        #expect(!timer.isActive)
        loop.run()  // the close callback runs; nothing else is active
        #expect(fired == 3)
    }

    @Test func stoppedTimerNeverFires() throws {
        let loop = try Loop()
        let late = Timer(loop: loop)
        let early = Timer(loop: loop)
        var lateFired = false
        late.start(after: .milliseconds(50)) { lateFired = true }
        // Due timers run in deadline order, so `early` always runs first, even after a stall.
        early.start(after: .milliseconds(1)) { late.stop() }
        loop.run()
        #expect(!lateFired)
        late.close()
        early.close()
    }

    @Test func closeIsIdempotentAndLaterCallsDoNothing() throws {
        let loop = try Loop()
        let timer = Timer(loop: loop)
        var fired = false
        timer.start(after: .milliseconds(1)) { fired = true }
        timer.close()
        timer.close()
        timer.start(after: .zero) { fired = true }
        timer.stop()
        loop.run()
        #expect(!fired)
        #expect(!timer.isActive)
    }

    @Test func nowAdvancesWithTheLoop() throws {
        let loop = try Loop()
        let before = loop.now
        let timer = Timer(loop: loop)
        timer.start(after: .milliseconds(5)) {}
        loop.run()
        #expect(loop.now >= before + 5)
        timer.close()
    }
}

@Suite struct LoopTeardownTests {
    @Test func openHandlesKeepTheirOwnersUntilTheLoopCloses() throws {
        weak var weakTimer: Timer?
        weak var weakAsync: Async?
        do {
            let loop = try Loop()
            do {
                let timer = Timer(loop: loop)
                timer.start(after: .seconds(3600)) {}
                weakTimer = timer
                let async = try Async(loop: loop) {}
                weakAsync = async
            }
            #expect(weakTimer != nil, "an open handle keeps its owner alive")
            #expect(weakAsync != nil)
            #expect(loop.runOnce(nowait: true), "an active timer keeps the loop alive")
        }
        #expect(weakTimer == nil, "loop teardown closed the handle and released its owner")
        #expect(weakAsync == nil)
    }

    @Test func ownersOutlivingTheLoopAreClosed() throws {
        var timer: Timer?
        var async: Async?
        do {
            let loop = try Loop()
            timer = Timer(loop: loop)
            timer?.start(after: .seconds(3600)) {}
            async = try Async(loop: loop) {}
        }
        #expect(timer?.isActive == false)
        timer?.start(after: .zero) {}  // does nothing: the handle is gone
        async?.send()  // does nothing
        timer?.close()
        async?.close()
    }
}

@Suite struct AsyncTests {
    @Test func sendFromAnotherThreadRunsTheCallback() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        var calls = 0
        var async: Async?
        async = try Async(loop: loop) {
            calls += 1
            async?.close()
            guardTimer.close()
        }
        let sender = async!
        let thread = startThread { sender.send() }
        loop.run()
        pthread_join(thread, nil)
        #expect(calls == 1)
    }

    @Test func manySendsCoalesceAndTheLastOneIsSeen() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        let finished = SharedFlag()
        var calls = 0
        var async: Async?
        async = try Async(loop: loop) {
            calls += 1
            if finished.isSet {
                async?.close()
                guardTimer.close()
            }
        }
        let sender = async!
        let thread = startThread {
            for _ in 0..<10_000 { sender.send() }
            finished.set()
            sender.send()
        }
        loop.run()
        pthread_join(thread, nil)
        #expect(calls >= 1)
        #expect(calls <= 10_001)
    }

    @Test func sendRacingWithCloseIsHarmless() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        let stopSending = SharedFlag()
        var calls = 0
        var async: Async?
        async = try Async(loop: loop) {
            calls += 1
            async?.close()
            guardTimer.close()
        }
        let sender = async!
        let thread = startThread {
            while !stopSending.isSet { sender.send() }
        }
        loop.run()  // the first wake-up closes the handle while the thread keeps sending
        stopSending.set()
        pthread_join(thread, nil)
        #expect(calls == 1)
    }
}

@Suite struct FDWatchTests {
    @Test func pipeBecomesReadable() throws {
        let loop = try Loop()
        let guardTimer = watchdog(loop)
        let pipe = try makePipe()
        defer { pipe.read.close(); pipe.write.close() }
        var seen: [FDWatch.Events] = []
        var byte: UInt8 = 0
        var watch: FDWatch?
        watch = try FDWatch(loop: loop, descriptor: pipe.read, events: .readable) { result in
            guard case .success(let events) = result else {
                Issue.record("poll error: \(result)")
                return
            }
            seen.append(events)
            _ = read(pipe.read.rawValue, &byte, 1)
            watch?.close()
            guardTimer.close()
        }
        let writer = Timer(loop: loop)
        writer.start(after: .milliseconds(1)) {
            try? write("!", to: pipe.write)
            writer.close()
        }
        loop.run()
        #expect(seen.count == 1)
        #expect(seen.first?.contains(.readable) == true)
        #expect(byte == UInt8(ascii: "!"))
    }

    @Test func writableEndIsWritableAndStopPauses() throws {
        let loop = try Loop()
        let pipe = try makePipe()
        defer { pipe.read.close(); pipe.write.close() }
        var calls = 0
        var watch: FDWatch?
        watch = try FDWatch(loop: loop, descriptor: pipe.write, events: .writable) { result in
            calls += 1
            #expect((try? result.get())?.contains(.writable) == true)
            watch?.stop()  // level-triggered: without stop it would fire every iteration
        }
        loop.run()  // returns: the stopped watch is not active
        #expect(calls == 1)
        watch?.close()
    }

    @Test func watchingADescriptorTwiceFails() throws {
        let loop = try Loop()
        let pipe = try makePipe()
        defer { pipe.read.close(); pipe.write.close() }
        let first = try FDWatch(loop: loop, descriptor: pipe.read, events: .readable) { _ in }
        #expect {
            _ = try FDWatch(loop: loop, descriptor: pipe.read, events: .readable) { _ in }
        } throws: { error in
            (error as? SystemError)?.errno == Errno(rawValue: EEXIST)
        }
        first.close()
    }
}
