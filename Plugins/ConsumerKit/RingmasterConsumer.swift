@_exported import CRingmasterConsumer
import RingmasterRendering

/// A consumer plugin written in Swift: a type conforming to this protocol, plus one export line
/// in the plugin's module:
///
/// ```swift
/// @_cdecl("ringmaster_consumer_entry")
/// public func ringmasterConsumerEntry() -> UnsafePointer<rm_consumer_api> {
///     ConsumerExport.table(for: MyConsumer.self)
/// }
/// ```
///
/// `ConsumerExport` turns the type into the C table of `ringmaster_consumer.h`; only C types
/// cross the boundary. Every call on an instance comes from one thread, in order (see
/// docs/PLUGINS.md), so a conforming type needs no locking of its own state.
public protocol RingmasterConsumer: AnyObject {
    /// Checks the settings without side effects (`ringmaster validate` calls it). Throw a
    /// `SettingsError` naming each setting that is wrong.
    static func check(_ settings: ConsumerSettings) throws(SettingsError)
    /// Makes an instance: opens files, connects, … Any error fails the run's start-up.
    init(settings: ConsumerSettings, host: ConsumerHost) throws
    /// How often `tick` is called; nil: never.
    var tickInterval: Duration? { get }
    /// Takes a batch. The records' memory is valid only during the call: copy what must outlive
    /// it. A thrown error is logged by the host, which retries the batch or stops the route.
    func consume(_ batch: ConsumerBatch) throws
    /// Learns of a worker start or exit, in order with the records.
    func event(_ event: ConsumerEvent)
    /// A periodic call (see `tickInterval`).
    func tick() throws
    /// Makes everything consumed so far durable or visible.
    func flush() throws
    /// Final flush and release; no call follows.
    func close() throws
}

extension RingmasterConsumer {
    public static func check(_ settings: ConsumerSettings) throws(SettingsError) {}
    public var tickInterval: Duration? { nil }
    public func event(_ event: ConsumerEvent) {}
    public func tick() throws {}
    public func flush() throws {}
    public func close() throws { try flush() }
}

/// One batch of records, a view over the host's C array (valid only during `consume`).
public struct ConsumerBatch: RandomAccessCollection {
    private let records: UnsafeBufferPointer<rm_record>

    init(_ records: UnsafeBufferPointer<rm_record>) { self.records = records }

    public var startIndex: Int { 0 }
    public var endIndex: Int { records.count }
    public subscript(position: Int) -> ConsumerRecord { ConsumerRecord(records[position]) }

    /// Payload bytes in the batch.
    public var payloadBytes: Int { records.reduce(0) { $0 + $1.length } }
}

/// One record, a view over the host's C struct (valid only during `consume`).
public struct ConsumerRecord {
    private let raw: rm_record

    init(_ raw: rm_record) { self.raw = raw }

    /// The worker's name.
    public var worker: String { String(decoding: workerBytes, as: UTF8.self) }
    /// The worker's name as the host's bytes; the same pointer for every record of one origin
    /// in a batch, so a consumer can cache what it derives from it (compare `baseAddress`).
    public var workerBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw.worker, count: raw.worker_length) }
    /// The instance index.
    public var instance: Int { Int(raw.instance) }
    /// Which start of the instance committed the record.
    public var generation: UInt64 { raw.generation }
    /// The instance's data records before this one, across restarts.
    public var sequence: UInt64 { raw.sequence }
    /// The record type, 1 ... 0xEFFF.
    public var type: UInt16 { raw.type }
    /// The worker's declared format (`.bytes` for a code this kit does not know).
    public var format: PayloadFormat { PayloadFormat(rawValue: raw.format) ?? .bytes }
    /// The payload, borrowed: untrusted, and valid only during the call.
    public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw.payload, count: raw.length) }
}

/// A worker start or exit.
public enum ConsumerEvent: Sendable {
    /// A process of an instance started.
    case started(worker: String, instance: Int, generation: UInt64, pid: Int32)
    /// That process ended: `how` is "exit 3", "SIGKILL", "quarantined: …" or "stalled after 30s".
    case exited(worker: String, instance: Int, generation: UInt64, how: String)

    init(_ raw: rm_event) {
        let worker = String(decoding: UnsafeRawBufferPointer(start: raw.worker, count: raw.worker_length), as: UTF8.self)
        if raw.kind == UInt32(RM_EVENT_STARTED.rawValue) {
            self = .started(worker: worker, instance: Int(raw.instance), generation: raw.generation, pid: raw.pid)
        } else {
            let how = String(decoding: UnsafeRawBufferPointer(start: raw.how, count: raw.how_length), as: UTF8.self)
            self = .exited(worker: worker, instance: Int(raw.instance), generation: raw.generation, how: how)
        }
    }
}

/// What the host offers an instance: serialised standard output and its log.
public struct ConsumerHost: @unchecked Sendable {
    private let raw: UnsafePointer<rm_host>

    init(_ raw: UnsafePointer<rm_host>) { self.raw = raw }

    /// The consumer's name in the manifest.
    public var consumerName: String { raw.pointee.consumer_name.map { String(cString: $0) } ?? "" }

    /// The manifest's directory, against which relative paths in settings resolve.
    public var manifestDirectory: String {
        raw.pointee.manifest_directory.map { String(cString: $0) } ?? "."
    }

    /// Writes `text` to the supervisor's standard output, whole, serialised with every other
    /// consumer's writes; throws when standard output is closed or broken.
    public func writeStandardOutput(_ text: String) throws(HostError) {
        var text = text
        var error = [CChar](repeating: 0, count: Int(RM_ERROR_BUFFER_SIZE))
        let status = text.withUTF8 { bytes in
            error.withUnsafeMutableBufferPointer { buffer in
                raw.pointee.write_stdout(raw.pointee.context, bytes.baseAddress, bytes.count, buffer.baseAddress, buffer.count)
            }
        }
        if status != RM_OK { throw HostError(message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    /// Logs a message in the supervisor's log, tagged with the consumer's name.
    public func log(_ level: LogLevel, _ message: String) {
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                raw.pointee.log(raw.pointee.context, level.rawValue, chars.baseAddress, chars.count)
            }
        }
    }

    /// The levels of `log`.
    public enum LogLevel: Int32, Sendable {
        case debug = 1, info = 2, warning = 3, error = 4
    }
}

/// A failure the host reported, e.g. `write(standard output): Broken pipe`.
public struct HostError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
