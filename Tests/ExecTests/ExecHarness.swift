import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// A manifest: one test producer worker `w` sending `records` records to the exec consumer `e`
/// (whose settings are `consumer`, YAML flow-map entries), and optionally to a jsonl file too.
func execManifest(records: Int, consumer: String, alsoJSONL: Bool = false, instances: Int = 1) -> String {
    let jsonl = alsoJSONL ? "\n  all: { plugin: jsonl, path: all.jsonl }" : ""
    return """
    version: 1
    workers:
      w:
        command: ringmaster-test-producer
        args: ["--records", "\(records)"]
        instances: \(instances)
        format: bytes
        to: [e\(alsoJSONL ? ", all" : "")]
    consumers:
      e: { plugin: exec, \(consumer) }\(jsonl)
    """
}
