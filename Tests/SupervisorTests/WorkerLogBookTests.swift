import Supervisor
import SystemKit
import Testing

/// A clock that moves only when told, for stamps a test can predict.
final class ManualClock {
    var now = WallClockTime(seconds: 1_700_000_000, nanoseconds: 123_456_789)
    func advance(milliseconds: Int64) {
        let total = Int64(now.nanoseconds) + milliseconds * 1_000_000
        now = WallClockTime(seconds: now.seconds + total / 1_000_000_000, nanoseconds: Int32(total % 1_000_000_000))
    }
}

/// The in-memory tails and observers behind `ringmaster logs`: pure, with an injected clock.
@Suite struct WorkerLogBookTests {
    @Test func linesAreNumberedPerInstanceFromOneAndStampedByTheClock() {
        let clock = ManualClock()
        let book = WorkerLogBook(clock: { clock.now })
        let first = book.append(worker: "w", instance: 0, stream: .stdout, text: "a")
        clock.advance(milliseconds: 5)
        book.append(worker: "w", instance: 0, stream: .stderr, text: "b")
        book.append(worker: "w", instance: 1, stream: .stdout, text: "c")
        book.append(worker: "v", instance: 0, stream: .stdout, text: "d")
        book.append(worker: "w", instance: 0, stream: .stdout, text: "e")

        #expect(first == WorkerLogLine(worker: "w", instance: 0, number: 1,
                                       timestamp: WallClockTime(seconds: 1_700_000_000, nanoseconds: 123_456_789),
                                       stream: .stdout, text: "a"))
        let tail = book.logTail(worker: "w", instance: 0)
        #expect(tail.map(\.number) == [1, 2, 3])
        #expect(tail.map(\.text) == ["a", "b", "e"])
        #expect(tail.map(\.stream) == [.stdout, .stderr, .stdout])
        #expect(tail[1].timestamp == WallClockTime(seconds: 1_700_000_000, nanoseconds: 128_456_789))
        #expect(book.logTail(worker: "w", instance: 1).map(\.number) == [1])
        #expect(book.logTail(worker: "v", instance: 0).map(\.text) == ["d"])
        #expect(book.logTail(worker: "x", instance: 0).isEmpty, "an unknown worker has an empty tail")
        #expect(book.nextNumber(worker: "w", instance: 0) == 4)
        #expect(book.nextNumber(worker: "x", instance: 3) == 1)
    }

    @Test(arguments: [1, 3, 1000])
    func theTailKeepsTheNewestLinesWithinTheLineLimit(limit: Int) {
        let book = WorkerLogBook(limits: .init(lines: limit, bytes: 1 << 30), clock: { WallClockTime(seconds: 0) })
        for index in 1...5000 { book.append(worker: "w", instance: 0, stream: .stdout, text: "line \(index)") }
        let tail = book.logTail(worker: "w", instance: 0)
        #expect(tail.map(\.number) == Array(UInt64(5001 - limit)...5000))
        #expect(tail.map(\.text) == (5001 - limit...5000).map { "line \($0)" })
        #expect(book.nextNumber(worker: "w", instance: 0) == 5001)
    }

    @Test func theTailKeepsWithinTheByteLimitButAlwaysKeepsTheNewestLine() {
        let book = WorkerLogBook(limits: .init(lines: 100, bytes: 10), clock: { WallClockTime(seconds: 0) })
        for text in ["aaaa", "bbbb", "cccc"] { book.append(worker: "w", instance: 0, stream: .stdout, text: text) }
        #expect(book.logTail(worker: "w", instance: 0).map(\.text) == ["bbbb", "cccc"], "12 bytes > 10: the oldest goes")
        book.append(worker: "w", instance: 0, stream: .stdout, text: "é")  // 2 bytes of UTF-8
        #expect(book.logTail(worker: "w", instance: 0).map(\.text) == ["bbbb", "cccc", "é"])
        let long = String(repeating: "x", count: 25)
        book.append(worker: "w", instance: 0, stream: .stdout, text: long)
        #expect(book.logTail(worker: "w", instance: 0).map(\.text) == [long], "a line over the limit alone is kept")
        book.append(worker: "w", instance: 0, stream: .stdout, text: "y")
        #expect(book.logTail(worker: "w", instance: 0).map(\.text) == ["y"])
        #expect(book.logTail(worker: "w", instance: 0).map(\.number) == [6])
    }

    @Test func observersGetTheNewLinesOfTheirWorkerAndInstanceInOrder() {
        let book = WorkerLogBook(clock: { WallClockTime(seconds: 0) })
        book.append(worker: "w", instance: 0, stream: .stdout, text: "before")
        var order: [String] = []
        var instanceZero: [String] = []
        var everyInstance: [String] = []
        var other: [String] = []
        _ = book.subscribe(worker: "w", instance: 0) { instanceZero.append($0.text); order.append("zero") }
        _ = book.subscribe(worker: "w") { everyInstance.append("\($0.instance):\($0.text)"); order.append("every") }
        _ = book.subscribe(worker: "v", instance: 0) { other.append($0.text) }
        book.append(worker: "w", instance: 0, stream: .stdout, text: "one")
        book.append(worker: "w", instance: 1, stream: .stderr, text: "two")
        book.append(worker: "v", instance: 1, stream: .stdout, text: "three")
        #expect(instanceZero == ["one"])
        #expect(everyInstance == ["0:one", "1:two"])
        #expect(other.isEmpty)
        #expect(order == ["zero", "every", "every"], "in the order they subscribed")
        #expect(book.subscriberCount == 3)
    }

    @Test func unsubscribingStopsDeliveryAlsoFromInsideACallback() {
        let book = WorkerLogBook(clock: { WallClockTime(seconds: 0) })
        var seenByFirst: [UInt64] = []
        var seenBySecond: [UInt64] = []
        var second: WorkerLogSubscription? = nil
        var first: WorkerLogSubscription? = nil
        first = book.subscribe(worker: "w") { line in
            seenByFirst.append(line.number)
            if line.number == 2, let second { book.unsubscribe(second) }
            if line.number == 3, let first { book.unsubscribe(first) }
        }
        second = book.subscribe(worker: "w") { seenBySecond.append($0.number) }
        for _ in 1...4 { book.append(worker: "w", instance: 0, stream: .stdout, text: "x") }
        #expect(seenByFirst == [1, 2, 3])
        #expect(seenBySecond == [1], "unsubscribed by the first observer before line 2 reached it")
        #expect(book.subscriberCount == 0)
        book.unsubscribe(first!)  // again: ignored
        #expect(book.subscriberCount == 0)
    }

    /// What `ringmaster logs -f` does in one loop callback: the tail, then a subscription. No
    /// line is missed or seen twice, and the numbers show where the tail began.
    @Test func tailThenSubscribeSeesEveryLineOnce() {
        let book = WorkerLogBook(limits: .init(lines: 5), clock: { WallClockTime(seconds: 0) })
        for index in 1...20 { book.append(worker: "w", instance: 2, stream: .stdout, text: "\(index)") }
        var seen = book.logTail(worker: "w", instance: 2).map(\.number)
        _ = book.subscribe(worker: "w", instance: 2) { seen.append($0.number) }
        for index in 21...30 { book.append(worker: "w", instance: 2, stream: .stdout, text: "\(index)") }
        #expect(seen == Array(16...30))
    }

    @Test func aLogFileLineIsTimestampLabelStreamAndText() {
        let line = WorkerLogLine(worker: "web", instance: 1, number: 7,
                                 timestamp: WallClockTime(seconds: 1_700_000_000, nanoseconds: 123_999_999),
                                 stream: .stderr, text: "GET / 200")
        #expect(line.fileLine == "2023-11-14T22:13:20.123Z web.1 stderr GET / 200\n")
    }

    @Test(arguments: [
        (Int64(0), Int32(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400, 0, "2000-02-29T00:00:00.000Z"),
        (1_709_251_199, 999_999_999, "2024-02-29T23:59:59.999Z"),
        (1_234_567_890, 5_000_000, "2009-02-13T23:31:30.005Z"),
        (4_102_444_800, 0, "2100-01-01T00:00:00.000Z"),
        (253_402_300_799, 0, "9999-12-31T23:59:59.000Z"),
        (-1, 999_000_000, "1969-12-31T23:59:59.999Z"),
    ])
    func timestampsAreRFC3339InUTCWithMilliseconds(seconds: Int64, nanoseconds: Int32, expected: String) {
        #expect(WallClockTime(seconds: seconds, nanoseconds: nanoseconds).rfc3339 == expected)
    }
}
