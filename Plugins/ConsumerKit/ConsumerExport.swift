import CRingmasterConsumer
import Synchronization

/// Builds the C table of `ringmaster_consumer.h` for a `RingmasterConsumer` type: the one file of
/// the kit with unsafe code. Swift errors become messages in the host's buffer; nothing but C
/// types crosses the boundary.
public enum ConsumerExport {
    /// The plugin's one exported type and its table.
    private struct Exported: @unchecked Sendable {
        var type: (any RingmasterConsumer.Type)?
        var table: UnsafeMutablePointer<rm_consumer_api>?
    }

    /// Each plugin links its own copy of this kit, and the host loads plugins with RTLD_LOCAL,
    /// so every plugin has its own.
    private static let exported = Mutex(Exported())

    /// The table for `type`, made once; every call returns the same table.
    public static func table<Consumer: RingmasterConsumer>(for type: Consumer.Type) -> UnsafePointer<rm_consumer_api> {
        let current: Exported = exported.withLock { state in
            if state.table == nil {
                state.type = type
                let table = UnsafeMutablePointer<rm_consumer_api>.allocate(capacity: 1)
                table.initialize(to: makeTable(name: String(describing: type)))
                state.table = table
            }
            return state
        }
        return UnsafePointer(current.table!)
    }

    private static var exportedType: (any RingmasterConsumer.Type)? {
        let current: Exported = exported.withLock { $0 }
        return current.type
    }

    /// What the host holds as the opaque instance.
    private final class Box {
        let consumer: any RingmasterConsumer
        init(_ consumer: any RingmasterConsumer) { self.consumer = consumer }
    }

    private static func box(_ instance: UnsafeMutableRawPointer?) -> Box {
        Unmanaged<Box>.fromOpaque(instance!).takeUnretainedValue()
    }

    /// Copies `message` into the host's buffer, NUL-terminated, cut at a UTF-8 boundary.
    static func report(_ message: String, into buffer: UnsafeMutablePointer<CChar>?, size: Int) -> Int32 {
        var message = message
        return message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { rm_report(buffer, size, $0.baseAddress, $0.count) }
        }
    }

    private static func settings(_ json: UnsafePointer<CChar>?, _ length: Int) throws(SettingsError) -> ConsumerSettings {
        guard let json else { return ConsumerSettings([:]) }
        let text = UnsafeRawBufferPointer(start: json, count: length)
        return try ConsumerSettings(json: String(decoding: text, as: UTF8.self))
    }

    private static func makeTable(name: String) -> rm_consumer_api {
        var api = rm_consumer_api()
        api.abi_version = RM_CONSUMER_ABI_VERSION
        api.struct_size = UInt32(MemoryLayout<rm_consumer_api>.size)
        api.name = UnsafePointer(strdupCopy(name))
        api.check = { json, length, error, size in
            do {
                guard let type = ConsumerExport.exportedType else { return ConsumerExport.report("no consumer type exported", into: error, size: size) }
                try type.check(try ConsumerExport.settings(json, length))
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        api.create = { host, json, length, instance, tickInterval, error, size in
            do {
                guard let type = ConsumerExport.exportedType, let host else {
                    return ConsumerExport.report("no consumer type exported", into: error, size: size)
                }
                let settings = try ConsumerExport.settings(json, length)
                try type.check(settings)
                let consumer = try type.init(settings: settings, host: ConsumerHost(host))
                let interval = consumer.tickInterval.map { duration -> UInt64 in
                    let (seconds, attoseconds) = duration.components
                    return UInt64(max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
                } ?? 0
                tickInterval?.pointee = interval
                instance?.pointee = Unmanaged.passRetained(Box(consumer)).toOpaque()
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        api.consume = { instance, records, count, error, size in
            do {
                try ConsumerExport.box(instance).consumer.consume(ConsumerBatch(UnsafeBufferPointer(start: records, count: count)))
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        api.event = { instance, event in
            guard let event else { return }
            ConsumerExport.box(instance).consumer.event(ConsumerEvent(event.pointee))
        }
        api.tick = { instance, error, size in
            do {
                try ConsumerExport.box(instance).consumer.tick()
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        api.flush = { instance, error, size in
            do {
                try ConsumerExport.box(instance).consumer.flush()
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        api.close = { instance, error, size in
            let box = Unmanaged<Box>.fromOpaque(instance!)
            defer { box.release() }
            do {
                try box.takeUnretainedValue().consumer.close()
                return RM_OK
            } catch let failure {
                return ConsumerExport.report("\(failure)", into: error, size: size)
            }
        }
        return api
    }

    /// A NUL-terminated copy that lives as long as the plugin (the table's name).
    private static func strdupCopy(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(text.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        copy.initialize(from: bytes, count: bytes.count)
        return copy
    }
}
