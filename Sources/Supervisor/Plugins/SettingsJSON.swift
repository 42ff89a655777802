import Manifest
import RingmasterRendering

/// A consumer's settings as the JSON object the plugin ABI passes to `check` and `create`: every
/// key of the entry except `plugin` and the host's own (`on_error`), keys sorted.
enum SettingsJSON {
    /// Keys the host handles itself; plugins never see them.
    static let hostKeys: Set<String> = ["on_error"]

    static func encode(_ settings: [String: SettingValue]) -> String {
        var out = ""
        append(.map(settings.filter { !hostKeys.contains($0.key) }), to: &out)
        return out
    }

    private static func append(_ value: SettingValue, to out: inout String) {
        switch value {
        case .string(let text): RecordRendering.appendJSONString(text, to: &out)
        case .integer(let n): out += String(n)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .list(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                append(item, to: &out)
            }
            out += "]"
        case .map(let map):
            out += "{"
            for (index, key) in map.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                RecordRendering.appendJSONString(key, to: &out)
                out += ":"
                append(map[key]!, to: &out)
            }
            out += "}"
        }
    }
}
