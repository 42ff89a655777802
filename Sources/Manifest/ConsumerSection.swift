import Yams

extension ManifestDecoder {
    /// Reads one `consumers` entry: `plugin` is required, every other key is a setting.
    func consumer(_ entry: Entry, in consumers: MapNode) -> ConsumerSpec? {
        guard checkName(entry, in: consumers, kind: "consumer"),
              let map = map(entry, in: consumers, expected: "a map with plugin and its settings") else { return nil }
        var spec = ConsumerSpec(name: entry.key, plugin: "", position: entry.keyPosition)
        for setting in map.entries where setting.key != "plugin" {
            if let value = settingValue(map.slot(setting)) {
                spec.settings[setting.key] = value
                spec.settingPositions[setting.key] = setting.valuePosition
            }
        }
        guard let plugin = map["plugin"] else {
            // Every other key is a setting, so a misspelled `plugin` is not "unknown": point at it here.
            let near = map.entries.first { Suggestion.closest(to: $0.key, among: ["plugin"]) != nil }
            let hint = near.map { "; did you mean 'plugin' instead of '\($0.key)'?" } ?? ""
            reportMissing("plugin", in: map, expected: "the name of the plugin to load\(hint)")
            return nil
        }
        guard let name = text(map.slot(plugin), expected: "a plugin name", allowEmpty: false) else { return nil }
        spec.plugin = name.value
        spec.settingPositions["plugin"] = plugin.valuePosition
        return spec
    }

    /// A setting as YAML typed it; nil after reporting a key that is not a name.
    func settingValue(_ slot: Slot) -> SettingValue? {
        let node = slot.node
        switch node {
        case .scalar(let scalar):
            switch Self.tagName(node) {
            case .null: return .null
            case .bool: return node.bool.map(SettingValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map(SettingValue.integer) ?? .string(scalar.string)
            case .float: return node.float.map(SettingValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence:
            let items = list(slot, expected: "a list") ?? []
            let values = items.compactMap(settingValue)
            return values.count == items.count ? .list(values) : nil
        case .mapping:
            guard let map = map(node, path: slot.field, anchor: slot.position, at: slot.position,
                                expected: "a map") else { return nil }
            var values: [String: SettingValue] = [:]
            for entry in map.entries {
                guard let value = settingValue(map.slot(entry)) else { return nil }
                values[entry.key] = value
            }
            return values.count == map.entries.count ? .map(values) : nil
        case .alias:
            reportType(slot, "a value")
            return nil
        }
    }
}
