import Manifest
import RingChannel

/// Where a batch of records comes from: one instance's ring, one generation, one format.
public struct RecordOrigin: Sendable {
    /// The worker's name from the manifest.
    public let worker: String
    /// The instance index in the worker's pool.
    public let instance: Int
    /// The instance's generation (restarts) when it committed the records.
    public let generation: UInt64
    /// The worker's declared format.
    public let format: RecordFormat
}

/// One record as the bridge hands it to a consumer plugin: its place in the instance's stream, its type, and a
/// payload borrowed from the ring (valid only during the `consume` call).
public struct RoutedRecord {
    /// The instance's data-record count before this one, across restarts: with a resumable
    /// producer, each sequence number is delivered exactly once.
    public let sequence: UInt64
    /// The record type (1...0xEFFF).
    public let type: UInt16
    /// The payload, borrowed from the ring; copy what must outlive the call.
    public let payload: UnsafeRawBufferPointer
}

/// The records one drain took from one ring, in order, with their common origin (kept once per
/// batch, so routing a record costs no reference counting).
public struct RecordBatch {
    /// Who sent every record of the batch.
    public let origin: RecordOrigin
    /// The records, in commit order.
    public let records: [RoutedRecord]
    /// Payload bytes in the batch.
    public let payloadBytes: Int
}

/// What happens to workers, in the order it happens relative to their records.
public enum WorkerEvent: Sendable {
    /// An instance process started (generation 0 is the first start).
    case started(worker: String, instance: Int, generation: UInt64, pid: Int32)
    /// An instance process ended.
    case exited(worker: String, instance: Int, generation: UInt64, reason: ExitReason)
}
