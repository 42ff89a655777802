import Glibc

/// Where a supervisor's control socket is when `--control` does not say.
///
/// `$XDG_RUNTIME_DIR/ringmaster/<name>-<hash>.sock` when `XDG_RUNTIME_DIR` is set, else
/// `<manifest's directory>/.<name>.ringmaster.sock`; `<name>` is the manifest's file name without
/// its extension and `<hash>` 8 hex digits of the manifest's absolute path, so two manifests of
/// the same name never share a socket. Clients given the same manifest find the same path.
public enum ControlPath {
    public static func forManifest(_ manifestPath: String, environment: [String: String]) -> String {
        let normalised = absolute(manifestPath)
        let file = normalised.split(separator: "/").last.map(String.init) ?? "manifest"
        let name = file.split(separator: ".").first.map(String.init) ?? file
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/ringmaster/" + name + "-" + hash(normalised) + ".sock"
        }
        let directory = normalised.split(separator: "/").dropLast().joined(separator: "/")
        return "/" + directory + (directory.isEmpty ? "" : "/") + "." + name + ".ringmaster.sock"
    }

    /// `path` made absolute against the working directory (`getcwd`, not `$PWD`, which a parent
    /// may have left stale) and normalised.
    public static func absolute(_ path: String) -> String {
        normalise(path.hasPrefix("/") ? path : currentDirectory() + "/" + path)
    }

    /// `a/./b/../c` → `a/c`; keeps a leading `/`.
    static func normalise(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// FNV-1a of the bytes, 32 bits, as 8 lower-case hex digits.
    static func hash(_ text: String) -> String {
        var value: UInt32 = 2_166_136_261
        for byte in text.utf8 { value = (value ^ UInt32(byte)) &* 16_777_619 }
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
