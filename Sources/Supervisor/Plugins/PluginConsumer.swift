import CRingmasterConsumer
import Logging
import Manifest

/// One consumer instance behind the plugin ABI: the host side of `ringmaster_consumer.h`, and
/// the one file of the supervisor that calls into a plugin's table.
///
/// Every call but `check` and `init` comes from the consumer's own thread (`ConsumerHost`), in
/// order, as the ABI promises. Errors come back as the plugin's message, never as a trap here.
final class PluginConsumer {
    /// Where the host services find the consumer's name and the log.
    private final class Services {
        let name: String
        let logger: Logger

        init(name: String, logger: Logger) {
            self.name = name
            self.logger = logger
        }
    }

    private let api: rm_consumer_api
    private let instance: UnsafeMutableRawPointer?
    private let host: UnsafeMutablePointer<rm_host>
    private let services: Unmanaged<Services>
    private var error = [CChar](repeating: 0, count: Int(RM_ERROR_BUFFER_SIZE))
    /// The C records of the batch being consumed, kept for the next batch's storage.
    private var closed = false
    /// How often `tick` is due, in nanoseconds; nil: never.
    let tickInterval: UInt64?
    /// Whether the plugin has a `tick` function at all.
    private var ticks: Bool { api.tick != nil }

    /// The plugin's verdict on `settingsJSON` (side-effect free), nil when it has no `check` or
    /// the settings are fine; otherwise its message lines.
    static func check(_ library: PluginLibrary, settingsJSON: String) -> String? {
        guard let check = library.api.pointee.check else { return nil }
        var error = [CChar](repeating: 0, count: Int(RM_ERROR_BUFFER_SIZE))
        var json = settingsJSON
        let status = json.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // withUTF8 does not promise a NUL after the bytes: pass a terminated copy.
                let terminated = Array(chars) + [0]
                return terminated.withUnsafeBufferPointer { check($0.baseAddress, chars.count, &error, error.count) }
            }
        }
        return status == RM_OK ? nil : message(error)
    }

    /// Creates an instance; throws the plugin's message when `create` fails.
    init(library: PluginLibrary, name: String, settingsJSON: String, manifestDirectory: String,
         logger: Logger) throws(PluginCallError) {
        api = library.api.pointee
        services = Unmanaged.passRetained(Services(name: name, logger: logger))
        host = UnsafeMutablePointer<rm_host>.allocate(capacity: 1)
        var services = rm_host()
        services.struct_size = UInt32(MemoryLayout<rm_host>.size)
        services.context = self.services.toOpaque()
        services.consumer_name = UnsafePointer(Self.copy(name))
        services.manifest_directory = UnsafePointer(Self.copy(manifestDirectory))
        services.write_stdout = { _, data, length, buffer, size in
            do {
                try StandardOutput.write(UnsafeRawBufferPointer(start: data, count: length))
                return RM_OK
            } catch {
                return PluginConsumer.report("\(error)", into: buffer, size: size)
            }
        }
        services.log = { context, level, message, length in
            guard let context else { return }
            let services = Unmanaged<Services>.fromOpaque(context).takeUnretainedValue()
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            let level: Logger.Level = switch level {
            case Int32(RM_LOG_DEBUG.rawValue): .debug
            case Int32(RM_LOG_WARNING.rawValue): .warning
            case Int32(RM_LOG_ERROR.rawValue): .error
            default: .info
            }
            services.logger.log(level: level, "consumer \(services.name): \(text)")
        }
        host.initialize(to: services)
        var instance: UnsafeMutableRawPointer? = nil
        var interval: UInt64 = 0
        var json = settingsJSON + "\0"
        let length = settingsJSON.utf8.count
        let create = api.create!
        let host = self.host
        var error = [CChar](repeating: 0, count: Int(RM_ERROR_BUFFER_SIZE))
        let status = json.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                create(host, chars.baseAddress, length, &instance, &interval, &error, error.count)
            }
        }
        guard status == RM_OK else {
            let message = Self.message(error)
            Self.free(host)
            self.services.release()
            throw PluginCallError(message: message)
        }
        self.instance = instance
        tickInterval = interval > 0 && api.tick != nil ? interval : nil
    }

    deinit {
        precondition(closed, "leak of a consumer plugin instance: close() was not called")
        Self.free(host)
        services.release()
    }

    /// Hands a batch to the plugin; nil on success, else its message.
    func consume(_ batch: RecordBatch) -> String? {
        // The pump built the C records already: the array goes to the plugin as it is.
        let status = batch.records.withUnsafeBufferPointer { buffer in
            api.consume(instance, buffer.baseAddress, buffer.count, &error, error.count)
        }
        return status == RM_OK ? nil : Self.message(error)
    }

    /// Tells the plugin of a worker start or exit (if it listens).
    func event(_ event: WorkerEvent) {
        guard let deliver = api.event else { return }
        var raw = rm_event()
        var worker: String
        var how = ""
        switch event {
        case .started(let name, let index, let generation, let pid):
            worker = name
            raw.kind = UInt32(RM_EVENT_STARTED.rawValue)
            raw.instance = UInt32(index)
            raw.generation = generation
            raw.pid = pid
            raw.exit_code = -1
        case .exited(let name, let index, let generation, let reason):
            worker = name
            how = "\(reason)"
            raw.kind = UInt32(RM_EVENT_EXITED.rawValue)
            raw.instance = UInt32(index)
            raw.generation = generation
            raw.exit_code = -1
            switch reason {
            case .exited(let code): raw.exit_code = code
            case .signaled(let signal): raw.signal = signal
            case .quarantined, .stalled: break
            }
        }
        worker.withUTF8 { name in
            how.withUTF8 { text in
                raw.worker = UnsafeRawPointer(name.baseAddress)?.assumingMemoryBound(to: CChar.self)
                raw.worker_length = name.count
                raw.how = UnsafeRawPointer(text.baseAddress)?.assumingMemoryBound(to: CChar.self)
                raw.how_length = text.count
                deliver(instance, &raw)
            }
        }
    }

    /// The periodic call; nil on success, else the message.
    func tick() -> String? {
        guard let tick = api.tick else { return nil }
        return tick(instance, &error, error.count) == RM_OK ? nil : Self.message(error)
    }

    /// Asks the plugin to make what it consumed durable; nil on success, else the message.
    func flush() -> String? {
        api.flush(instance, &error, error.count) == RM_OK ? nil : Self.message(error)
    }

    /// The final call: flush and free the instance. Exactly once.
    func close() -> String? {
        precondition(!closed, "consumer plugin instance closed twice")
        closed = true
        return api.close(instance, &error, error.count) == RM_OK ? nil : Self.message(error)
    }

    /// The ABI's `rm_format` code of a manifest format.
    static func code(_ format: RecordFormat) -> UInt16 {
        switch format {
        case .bytes: UInt16(RM_FORMAT_BYTES.rawValue)
        case .text: UInt16(RM_FORMAT_TEXT.rawValue)
        case .json: UInt16(RM_FORMAT_JSON.rawValue)
        case .fileEntry: UInt16(RM_FORMAT_FILE_ENTRY.rawValue)
        }
    }

    private static func message(_ buffer: [CChar]) -> String {
        let text = buffer.withUnsafeBufferPointer { chars in
            // The plugin should have terminated it; never read past the buffer if it did not.
            let end = chars.firstIndex(of: 0) ?? chars.count
            return String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(chars)[..<end]), as: UTF8.self)
        }
        return text.isEmpty ? "failed without a message" : text
    }

    /// Copies `message` into a caller's buffer, NUL-terminated, truncated at a UTF-8 boundary.
    fileprivate static func report(_ message: String, into buffer: UnsafeMutablePointer<CChar>?, size: Int) -> Int32 {
        var message = message
        return message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { rm_report(buffer, size, $0.baseAddress, $0.count) }
        }
    }

    private static func copy(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(text.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        copy.initialize(from: bytes, count: bytes.count)
        return copy
    }

    private static func free(_ host: UnsafeMutablePointer<rm_host>) {
        UnsafeMutablePointer(mutating: host.pointee.consumer_name)?.deallocate()
        UnsafeMutablePointer(mutating: host.pointee.manifest_directory)?.deallocate()
        host.deinitialize(count: 1)
        host.deallocate()
    }
}

/// A plugin call failed; `message` is the plugin's own.
struct PluginCallError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
