// The example producer in Swift, with the same behaviour as examples/c-producer and
// examples/python-producer (docs/SDK.md, "The example producers"):
//
//   swift-producer [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]
//
// Commits data records `swift <instance> <seq>` (padded with '.' to BYTES) for seq in start..<N,
// B per publish, a checkpoint holding the next seq after every K-th record, then end-of-stream.
// After a restart it starts at the checkpoint's seq plus the records delivered after it, so every
// seq reaches the consumers exactly once across crashes.
import Glibc
import RingmasterProducer

struct Options {
    var records = 1000
    var size = 0
    var batch = 1
    var checkpointEvery = 100
    var paceMicroseconds = 0

    init(_ arguments: [String]) throws(UsageError) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let text = rest.popFirst(), let value = Int(text), value >= 0 else {
                throw UsageError(message: "\(flag) needs a non-negative integer")
            }
            switch flag {
            case "--records": records = value
            case "--size": size = value
            case "--batch": batch = max(1, value)
            case "--checkpoint-every": checkpointEvery = value
            case "--pace-us": paceMicroseconds = value
            default: throw UsageError(message: "unknown option \(flag)")
            }
        }
    }
}

struct UsageError: Error { let message: String }

/// Writes `value` in decimal ASCII at the start of `buffer`; returns the digits written.
func writeDecimal(_ value: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    var digits = 1, rest = value
    while rest >= 10 { rest /= 10; digits += 1 }
    rest = value
    for index in stride(from: digits - 1, through: 0, by: -1) {
        buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
    }
    return digits
}

func fail(_ message: String, status: Int32) -> Never {
    let line = "swift-producer: \(message)\n"
    _ = write(2, line, line.utf8.count)
    exit(status)
}

let options: Options
do { options = try Options(Array(CommandLine.arguments.dropFirst())) } catch {
    fail("\(error.message)\nusage: swift-producer [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]", status: 2)
}

var producer: Producer
do { producer = try Producer.attach() } catch { fail("\(error)", status: 2) }

// Where to start: the checkpoint's token is the next seq in decimal; skip what was delivered after it.
var seq = 0
if let resume = producer.resume {
    let token = resume.token.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    seq = token + Int(resume.skip)
}
let banner = "swift-producer \(producer.worker).\(producer.instance): records \(seq)..\(options.records - 1)\n"
_ = write(2, banner, banner.utf8.count)

let prefix = Array("swift \(producer.instance) ".utf8)
guard prefix.count + 20 <= producer.maxRecordLength else { fail("max record \(producer.maxRecordLength) is too small for a record", status: 2) }
do {
    while seq < options.records {
        let end = min(options.records, seq + options.batch)
        try producer.batch { (writer: inout RingWriter) throws(RingWriteError) in
            while seq < end {
                // The payload is written in place in the ring: `swift <instance> <seq>`, dots after;
                // reserved for the longest it can be, committed at the length it came to.
                let payload = try writer.reserve(max(prefix.count + 20, options.size))
                payload.copyBytes(from: prefix)
                var length = prefix.count + writeDecimal(seq, into: UnsafeMutableRawBufferPointer(rebasing: payload[prefix.count...]))
                if length < options.size {
                    payload[length..<options.size].initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "."))
                    length = options.size
                }
                try writer.commit(length: length)
                seq += 1
                if options.checkpointEvery > 0 && seq % options.checkpointEvery == 0 {
                    try writer.sendReserved(.checkpoint, bytes: Array(String(seq).utf8))
                }
            }
        }
        if options.paceMicroseconds > 0 { usleep(UInt32(options.paceMicroseconds)) }
    }
    try producer.finish()
} catch {
    fail("\(error)", status: 1)
}
exit(0)
