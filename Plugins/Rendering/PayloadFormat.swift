/// How a worker's payloads are framed: the manifest's `format`, with the codes of the plugin
/// ABI's `enum rm_format` (Plugins/include/ringmaster_consumer.h).
public enum PayloadFormat: UInt16, Sendable, CaseIterable {
    /// Opaque bytes.
    case bytes = 0
    /// UTF-8 text, possibly with invalid bytes.
    case text = 1
    /// One JSON value, possibly invalid.
    case json = 2
    /// The walker's file-entry records (docs/PROTOCOL.md §13).
    case fileEntry = 3
}

/// Standard base64 with padding (RFC 4648), encoding only. RingChannel has the same encoder;
/// this copy keeps the plugins, which link this module, free of the ring code.
enum PayloadBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes bytes.
    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let a = iterator.next() {
            let b = iterator.next()
            let c = iterator.next()
            let n = UInt32(a) << 16 | UInt32(b ?? 0) << 8 | UInt32(c ?? 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(b == nil ? UInt8(ascii: "=") : alphabet[Int(n >> 6 & 63)])
            out.append(c == nil ? UInt8(ascii: "=") : alphabet[Int(n & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
