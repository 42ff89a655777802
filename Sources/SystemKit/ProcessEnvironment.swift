import Glibc

/// This process's environment, read from `environ` (no Foundation needed).
public enum ProcessEnvironment {
    /// The variables as a dictionary (the first definition wins, as `getenv` sees it).
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries() {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            let key = String(entry[..<equals])
            if result[key] == nil { result[key] = String(entry[entry.index(after: equals)...]) }
        }
        return result
    }

    /// The raw `KEY=VALUE` strings, in order.
    public static func entries() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }
}
