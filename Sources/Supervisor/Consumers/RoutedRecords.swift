import CRingmasterConsumer
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

/// One record exactly as a consumer plugin receives it (`struct rm_record` of
/// ringmaster_consumer.h), built once by the pump so the consumer thread hands the batch's array
/// to the plugin as it is: worker name (the instance's own NUL-terminated copy), instance,
/// generation, the instance's data-record count before this one (`sequence`: with a resumable
/// producer each is delivered exactly once), type (1...0xEFFF), format code, and the payload
/// borrowed from the ring (valid only during the `consume` call).
public typealias RoutedRecord = rm_record

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
