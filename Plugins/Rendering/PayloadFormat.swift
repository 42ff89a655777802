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
