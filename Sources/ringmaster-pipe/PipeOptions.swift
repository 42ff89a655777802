import PipeSplitter

/// How to cut the input and where it comes from, from the command line (and so from the
/// manifest's `args`).
///
/// Parsing is a pure function of the argument bytes. The command and its arguments are not
/// copied: `commandIndex` says where they start in the process's own argument vector, so they
/// reach the command byte for byte.
struct PipeOptions: Equatable {
    /// Where one record ends.
    var framing: Framing = .delimited(UInt8(ascii: "\n"))
    /// The record type of every data record (1...0xEFFF).
    var recordType: UInt16 = 1
    /// What happens to an item longer than the ring's max record.
    var long: LongItemPolicy = .split
    /// Keep the delimiter at the end of each record.
    var keepDelimiter = false
    /// On a restart, skip the records the supervisor already delivered (RINGMASTER_RESUME_SKIP).
    var resume = true
    /// Bytes read from the input at once; the records they complete are committed in one batch.
    var blockSize = 64 << 10
    /// Index (counting argv[0] as 0) of the command's name; nil: read standard input.
    var commandIndex: Int? = nil

    /// The largest `--batch-bytes`.
    static let largestBlock = 64 << 20

    /// The usage text for `--help`.
    static let usage = """
        usage: ringmaster-pipe [--lines | --null | --chunk N] [--type T] [--long split|truncate|fail]
                               [--keep-delimiter] [--no-resume] [--batch-bytes N] [[--] COMMAND [ARG...]]

        Runs COMMAND (found on PATH unless it has a slash), or reads its own standard input without
        one, and commits each line of that output as one record to the ring of its supervisor (run it
        from a manifest, e.g. `format: text`). A full ring stops the reading, and so the command.

          --lines                 one record per \\n-terminated line, without the \\n (default)
          --null                  one record per NUL-terminated item, without the NUL
          --chunk N               one record per N bytes (the last one may be shorter)
          --type T                record type, 1 to 0xEFFF (decimal or 0x hex; default 1)
          --long POLICY           an item longer than the ring's max record is split into
                                  max-record pieces (split, the default), cut to max record
                                  (truncate), or ends the run with an error (fail)
          --keep-delimiter        keep the \\n (NUL) at the end of each record
          --no-resume             on a restart, deliver everything again instead of skipping the
                                  records already delivered (for live sources: journalctl -f)
          --batch-bytes N         read up to N bytes at once; the records they complete are
                                  published together (default 65536)
          -h, --help              this text

        The first argument that is not an option starts the command; `--` makes that explicit.
        Exit codes: the command's exit status (128 + N if signal N killed it); 0 at the end of
        standard input; 1 ringmaster-pipe failed (ring, read, or a long item under --long fail);
        2 a usage error or not started by a supervisor; 75 the supervisor is gone; 127 the
        command could not be started.
        """

    /// Why the command line was refused.
    struct UsageError: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    /// Reads the options; the first non-option argument (or the one after `--`) is the command.
    static func parse(_ arguments: [[UInt8]]) throws(UsageError) -> PipeOptions {
        var options = PipeOptions()
        var framingFlag: String? = nil
        var index = 0
        func value(_ flag: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(description: "\(flag) needs a value") }
            return String(decoding: arguments[index], as: UTF8.self)
        }
        func number(_ flag: String, in range: ClosedRange<Int>) throws(UsageError) -> Int {
            let text = try value(flag)
            let parsed = text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
            guard let n = parsed, range.contains(n) else {
                throw UsageError(description: "\(flag) needs an integer from \(range.lowerBound) to \(range.upperBound) (got '\(text)')")
            }
            return n
        }
        func choose(_ flag: String, _ framing: Framing) throws(UsageError) {
            if let earlier = framingFlag, earlier != flag {
                throw UsageError(description: "\(earlier) and \(flag) exclude each other: choose one of --lines, --null, --chunk N")
            }
            framingFlag = flag
            options.framing = framing
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == Array("--".utf8) {
                index += 1
                guard index < arguments.count else { throw UsageError(description: "-- must be followed by a command") }
                options.commandIndex = index + 1
                break
            }
            if argument.first != UInt8(ascii: "-") || argument == [UInt8(ascii: "-")] {
                options.commandIndex = index + 1
                break
            }
            switch String(decoding: argument, as: UTF8.self) {
            case "--lines": try choose("--lines", .delimited(UInt8(ascii: "\n")))
            case "--null": try choose("--null", .delimited(0))
            case "--chunk": try choose("--chunk", .chunks(try number("--chunk", in: 1...Int(UInt32.max))))
            case "--type": options.recordType = UInt16(try number("--type", in: 1...0xEFFF))
            case "--long":
                let text = try value("--long")
                guard let policy = LongItemPolicy(rawValue: text) else {
                    throw UsageError(description: "--long must be split, truncate or fail (got '\(text)')")
                }
                options.long = policy
            case "--keep-delimiter": options.keepDelimiter = true
            case "--no-resume": options.resume = false
            case "--batch-bytes": options.blockSize = try number("--batch-bytes", in: 1...largestBlock)
            case "-h", "--help": throw UsageError(description: "")
            case let other: throw UsageError(description: "unknown option \(other) (put -- before a command that starts with a dash)")
            }
            index += 1
        }
        if options.keepDelimiter, case .chunks = options.framing {
            throw UsageError(description: "--keep-delimiter needs --lines or --null (chunks have no delimiter)")
        }
        return options
    }

    /// What one input item is called in messages.
    var itemName: String {
        switch framing {
        case .delimited(0): "item"
        case .delimited: "line"
        case .chunks: "chunk"
        }
    }
}
