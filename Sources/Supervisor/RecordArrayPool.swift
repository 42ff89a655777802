/// Spare record arrays of finished batches, for the next drains to fill.
///
/// A drain of a busy ring collects thousands of records (some 100 KiB of `RoutedRecord`s at 64 B
/// payloads). Allocated for every batch and freed when its consumers are done, that array came
/// from memory the C allocator had just handed back to the kernel, so every batch paid a page
/// fault per page: most of the supervisor's time per record. A batch hands its array back here
/// when its last holder lets go (`DeliveryBatch.deinit`, on whichever thread that is).
///
/// Only capacity is reused: an array is emptied before it is filled again, and a consumer that
/// kept a copy of a batch's records still has its own (copy-on-write).
final class RecordArrayPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var spare: [[RoutedRecord]] = []
    private var spareBytes = 0
    /// Bytes of spare capacity kept at most; arrays beyond it are freed.
    let limitBytes: Int

    init(limitBytes: Int = 4 << 20) { self.limitBytes = limitBytes }

    /// An empty array with room for at least `minimumCapacity` records.
    func take(minimumCapacity: Int) -> [RoutedRecord] {
        var array = lock.withLock { () -> [RoutedRecord] in
            guard let last = spare.popLast() else { return [] }
            spareBytes -= Self.bytes(of: last)
            return last
        }
        array.removeAll(keepingCapacity: true)
        array.reserveCapacity(minimumCapacity)
        return array
    }

    /// Keeps `array`'s storage for a later `take`, within the limit.
    func recycle(_ array: [RoutedRecord]) {
        let bytes = Self.bytes(of: array)
        guard bytes > 0 else { return }
        lock.withLock {
            guard spareBytes + bytes <= limitBytes else { return }
            spare.append(array)
            spareBytes += bytes
        }
    }

    private static func bytes(of array: [RoutedRecord]) -> Int {
        array.capacity * MemoryLayout<RoutedRecord>.stride
    }
}
