import Foundation
import Glibc
import RingmasterTestSupport
import TestHarness
import Testing

/// One line of the `jsonl` consumer's output.
struct DeliveredRecord {
    let worker: String
    let instance: Int
    let generation: Int
    let seq: Int
    /// The test producer's own sequence number, from the payload.
    let payloadSequence: UInt64?
}

/// Parses a JSON Lines file written by the `jsonl` consumer for `bytes`-format test records.
func readDelivered(_ text: String) -> [DeliveredRecord] {
    text.split(separator: "\n").compactMap { line in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        var payloadSequence: UInt64? = nil
        if let data = object["data"] as? String, let bytes = Data(base64Encoded: data) {
            payloadSequence = bytes.withUnsafeBytes { raw in TestRecord.verify(raw) }
        }
        return DeliveredRecord(worker: object["worker"] as? String ?? "", instance: object["instance"] as? Int ?? -1,
                               generation: object["generation"] as? Int ?? -1, seq: object["seq"] as? Int ?? -1,
                               payloadSequence: payloadSequence)
    }
}

/// The pids the supervisor logged for started workers.
func startedPIDs(in log: String) -> [Int32] {
    log.split(separator: "\n").filter { $0.contains("started") }.compactMap { line in
        guard let range = line.range(of: "pid=") else { return nil }
        return Int32(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Whether process `pid` ignores SIGTERM (its SigIgn mask in /proc/PID/status).
func ignoresSIGTERM(_ pid: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
          let mask = UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
    return mask & (1 << (UInt64(SIGTERM) - 1)) != 0
}
