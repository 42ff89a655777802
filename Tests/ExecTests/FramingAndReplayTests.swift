import ExecConsumerCore
import Testing

/// Binary frames byte for byte, and which records the replay journal resends after a child died.
@Suite struct FramingAndReplayTests {
    @Test func binaryFrameLayoutIsAsDocumented() {
        var out: [UInt8] = []
        let worker = Array("w1".utf8)
        let payload: [UInt8] = [0xAA, 0xBB, 0xCC]
        worker.withUnsafeBytes { name in
            payload.withUnsafeBytes { data in
                BinaryFrame.append(worker: name, instance: 2, generation: 3, sequence: 0x0102_0304_0506_0708,
                                   type: 7, format: 1, payload: data, to: &out)
            }
        }
        #expect(out == [
            33, 0, 0, 0,            // N = 28 + 2 + 3
            30, 0,                  // H = 28 + 2
            7, 0, 1, 0, 2, 0,       // type, format, worker length
            2, 0, 0, 0,             // instance
            3, 0, 0, 0, 0, 0, 0, 0, // generation
            8, 7, 6, 5, 4, 3, 2, 1, // sequence
            0x77, 0x31, 0xAA, 0xBB, 0xCC,
        ])
    }

    /// Records of `size` bytes each, numbered by their first byte.
    private func batch(_ first: Int, count: Int, size: Int = 10) -> EncodedBatch {
        var encoded = EncodedBatch()
        for index in 0..<count {
            encoded.bytes += [UInt8](repeating: UInt8(first + index), count: size)
            encoded.ends.append(encoded.bytes.count)
        }
        return encoded
    }

    /// Writes up to `limit` bytes (all when nil) and returns the first byte of each record written
    /// from the start of the current stream.
    private func write(_ journal: inout ReplayJournal, limit: Int? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        while let chunk = journal.pending({ Array($0) }) {
            let take = min(chunk.count, (limit ?? .max) - bytes.count)
            guard take > 0 else { break }
            bytes += chunk.prefix(take)
            journal.didWrite(take)
        }
        return bytes
    }

    @Test func everythingAppendedIsWrittenInOrder() {
        var journal = ReplayJournal(retention: 100)
        journal.append(batch(0, count: 3))
        journal.append(batch(3, count: 2))
        let bytes = write(&journal)
        #expect(bytes == (0..<5).flatMap { [UInt8](repeating: UInt8($0), count: 10) })
        #expect(journal.isDrained)
    }

    @Test func aRewindResendsFromTheFirstRecordNotReadCompletely() {
        var journal = ReplayJournal(retention: 1000)
        journal.append(batch(0, count: 5))
        _ = write(&journal, limit: 45)          // records 0-3 and half of 4 accepted
        // The child read 25 bytes (records 0, 1 and half of 2), 20 were still in the pipe.
        let resent = journal.rewind(unread: 20)
        #expect(resent == 3)                     // 2 (partly read), 3, 4 (partly written)
        #expect(journal.written == 0)
        let again = write(&journal)
        #expect(again.first == 2 && again.count == 30)
    }

    @Test func retainedBytesCoverEarlierBatchesStillInThePipe() {
        var journal = ReplayJournal(retention: 64)
        journal.append(batch(0, count: 10))     // 100 bytes
        _ = write(&journal)
        journal.append(batch(10, count: 3))
        _ = write(&journal, limit: 5)            // the new batch fails after 5 bytes
        // 105 written, 40 unread: the child read up to offset 65 (inside record 6).
        #expect(journal.rewind(unread: 40) == 5)  // 6, 7, 8, 9 and 10 (partly written)
        let again = write(&journal)
        #expect(again.count == 70)               // records 6 ... 12
        #expect(stride(from: 0, to: again.count, by: 10).map { again[$0] } == Array(6...12))
    }

    @Test func anUnknownUnreadCountAssumesAFullPipe() {
        var journal = ReplayJournal(retention: 30)
        journal.append(batch(0, count: 10))
        _ = write(&journal)
        #expect(journal.rewind(unread: nil) == 3)  // the last 30 bytes
        #expect(write(&journal).first == 7)
    }

    @Test func memoryIsBoundedByTheRetention() {
        var journal = ReplayJournal(retention: 50)
        for n in 0..<100 {
            journal.append(batch(n % 200, count: 4))
            _ = write(&journal)
        }
        // Whole batches of 40 bytes are dropped once they ended 50 bytes before the write position.
        #expect(journal.heldRecords <= 8)
    }

    @Test func nothingUnreadMeansNothingResent() {
        var journal = ReplayJournal(retention: 100)
        journal.append(batch(0, count: 4))
        _ = write(&journal)
        #expect(journal.rewind(unread: 0) == 0)
        #expect(journal.isDrained)
        journal.append(batch(4, count: 1))
        #expect(write(&journal).first == 4)
    }
}
