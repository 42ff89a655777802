import CRingmasterConsumer
import Foundation
import Glibc
import Manifest

/// A consumer plugin library, loaded and checked: its table matches this host's ABI.
///
/// Libraries are never unloaded: a Swift plugin's runtime metadata cannot be unregistered, and a
/// process loads each plugin once (`dlopen` of a loaded file returns the same handle).
public struct PluginLibrary: @unchecked Sendable {
    /// The file that was loaded.
    public let path: String
    /// The plugin's table (static storage in the library).
    let api: UnsafePointer<rm_consumer_api>

    /// Whether the plugin can check settings without side effects.
    var canCheck: Bool { api.pointee.check != nil }
}

/// Why a plugin could not be loaded; `description` follows `consumers.<name>.plugin`.
public enum PluginLoadError: Error, CustomStringConvertible, Equatable {
    /// No candidate file exists.
    case notFound(plugin: String, looked: [String], suggestion: String?)
    /// `dlopen` failed (not a shared library, missing dependency, wrong architecture, …).
    case cannotOpen(plugin: String, path: String, reason: String)
    /// The library does not export `ringmaster_consumer_entry`.
    case missingEntry(plugin: String, path: String)
    /// The entry returned NULL.
    case noTable(plugin: String, path: String)
    /// The table is for another ABI version.
    case abiMismatch(plugin: String, path: String, found: UInt32)
    /// The table is smaller than version 1's, or lacks a required function.
    case malformedTable(plugin: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let plugin, let looked, let suggestion):
            let hint = suggestion.map { "; did you mean '\($0)'?" } ?? ""
            if PluginLocator.isPath(plugin) { return "'\(plugin)' does not exist (looked for \(looked.joined()))" }
            let places = looked.map { String($0.prefix(upTo: $0.lastIndex(of: "/") ?? $0.endIndex)) }
            return "names an unknown plugin '\(plugin)': no lib\(plugin).so in \(places.joined(separator: ", "))\(hint)"
        case .cannotOpen(let plugin, _, let reason):
            return "'\(plugin)' cannot be loaded: \(reason)"
        case .missingEntry(let plugin, let path):
            return "'\(plugin)' (\(path)) is not a ringmaster consumer plugin: it does not export \(RM_CONSUMER_ENTRY_SYMBOL)"
        case .noTable(let plugin, let path):
            return "'\(plugin)' (\(path)): \(RM_CONSUMER_ENTRY_SYMBOL) returned no table"
        case .abiMismatch(let plugin, let path, let found):
            return "'\(plugin)' (\(path)) was built for consumer ABI version \(found); this ringmaster supports version \(RM_CONSUMER_ABI_VERSION): rebuild the plugin against its ringmaster_consumer.h"
        case .malformedTable(let plugin, let path, let reason):
            return "'\(plugin)' (\(path)) has a malformed table: \(reason)"
        }
    }
}

/// Finds and loads consumer plugins. The only code that calls `dlopen` and `dlsym`.
public enum PluginLoader {
    private static let lock = NSLock()

    /// Finds `plugin` by the locator's rules, loads it with `RTLD_NOW | RTLD_LOCAL`, and checks its
    /// table. Never traps: every failure is a value.
    public static func load(_ plugin: String, locator: PluginLocator) -> Result<PluginLibrary, PluginLoadError> {
        let candidates = locator.candidates(for: plugin)
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            let suggestion = PluginLocator.isPath(plugin) ? nil
                : Suggestion.closest(to: plugin, among: locator.availableNames())
            return .failure(.notFound(plugin: plugin, looked: candidates, suggestion: suggestion))
        }
        // dlerror is per thread but not reentrant across the calls of one load: keep them together.
        lock.lock()
        defer { lock.unlock() }
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(.cannotOpen(plugin: plugin, path: path, reason: lastError() ?? "dlopen failed"))
        }
        guard let symbol = dlsym(handle, RM_CONSUMER_ENTRY_SYMBOL) else {
            return .failure(.missingEntry(plugin: plugin, path: path))
        }
        typealias Entry = @convention(c) () -> UnsafePointer<rm_consumer_api>?
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let api = entry() else { return .failure(.noTable(plugin: plugin, path: path)) }
        // Only the version field is read before the version is known to match.
        let version = api.pointee.abi_version
        guard version == RM_CONSUMER_ABI_VERSION else {
            return .failure(.abiMismatch(plugin: plugin, path: path, found: version))
        }
        let size = Int(api.pointee.struct_size)
        guard size >= MemoryLayout<rm_consumer_api>.size else {
            return .failure(.malformedTable(plugin: plugin, path: path,
                                            reason: "struct_size \(size) is less than \(MemoryLayout<rm_consumer_api>.size)"))
        }
        let table = api.pointee
        let missing = [("create", table.create == nil), ("consume", table.consume == nil),
                       ("flush", table.flush == nil), ("close", table.close == nil)].filter(\.1).map(\.0)
        guard missing.isEmpty else {
            return .failure(.malformedTable(plugin: plugin, path: path, reason: "no \(missing.joined(separator: ", ")) function"))
        }
        return .success(PluginLibrary(path: path, api: api))
    }

    private static func lastError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }
}
