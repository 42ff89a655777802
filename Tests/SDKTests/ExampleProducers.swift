import Foundation
import RingmasterTestSupport
import TestHarness

/// The three example producers (examples/c-producer, examples/python-producer,
/// examples/swift-producer), which share one command line and one record shape: data records
/// `<lang> <instance> <seq>` for seq 0..<N, checkpoints holding the next seq (docs/SDK.md).
enum ExampleProducer: String, CaseIterable, Sendable {
    case c, python, swift

    /// The manifest's `command` and leading `args` that run this example.
    var invocation: (command: String, arguments: [String]) {
        get throws {
            switch self {
            case .c: (try Self.cBinary.get(), [])
            case .python: ("python3", [packageRoot + "/examples/python-producer/producer.py"])
            case .swift: (try Self.swiftBinary.get(), [])
            }
        }
    }

    /// A worker block for a manifest (indented for `workers:`), YAML flow syntax.
    func worker(name: String, arguments: [String], instances: Int = 1, extra: String = "") throws -> String {
        let (command, leading) = try invocation
        let args = (leading + arguments).map { "\"\($0)\"" }.joined(separator: ", ")
        return """
              \(name):
                command: \(command)
                args: [\(args)]
                instances: \(instances)
                format: text
            \(extra.isEmpty ? "" : "    " + extra + "\n")    to: [file]

            """
    }

    /// examples/c-producer built once per test run with its own Makefile (in place, as a user would).
    static let cBinary: Result<String, ExampleBuildError> = {
        let directory = packageRoot + "/examples/c-producer"
        let build = runCommand("/usr/bin/make", ["-s", "-C", directory])
        guard build.succeeded else { return .failure(ExampleBuildError(message: "make -C examples/c-producer: \(build.output)")) }
        return .success(directory + "/c-producer")
    }()

    /// examples/swift-producer built once per test run as the package it is (it depends on this
    /// one by path), so the example's Package.swift is what is tested.
    static let swiftBinary: Result<String, ExampleBuildError> = {
        let package = packageRoot + "/examples/swift-producer"
        let build = runCommand("/usr/bin/env", ["swift", "build", "-c", "release", "--package-path", package])
        guard build.succeeded else { return .failure(ExampleBuildError(message: "swift build examples/swift-producer: \(build.output)")) }
        return .success(package + "/.build/release/swift-producer")
    }()

    /// Checks that every instance of `worker` delivered seq 0..<records exactly once and in order,
    /// each payload reading `<lang> <instance> <seq>` (possibly padded with dots). Returns the problems.
    func verify(jsonl text: String, worker: String, instances: Int, records: Int) -> [String] {
        var next = [Int](repeating: 0, count: instances)
        var problems: [String] = []
        let prefix = "{\"worker\":\"\(worker)\",\"instance\":"
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let dataRange = line.range(of: "\"data\":\"") else { problems.append("no data in \(line)"); continue }
            let data = line[dataRange.upperBound...].prefix { $0 != "\"" }
            let fields = data.split(separator: " ")
            guard fields.count == 3, fields[0] == rawValue, let instance = Int(fields[1]), instance < instances,
                  let seq = Int(fields[2].prefix { $0 != "." }) else {
                problems.append("unexpected payload \(data)"); continue
            }
            if seq != next[instance] {
                problems.append("\(worker).\(instance): seq \(seq) where \(next[instance]) was due")
                if problems.count > 10 { return problems }
            }
            next[instance] = seq + 1
        }
        for instance in 0..<instances where next[instance] != records {
            problems.append("\(worker).\(instance) ended at seq \(next[instance]), expected \(records)")
        }
        return problems
    }
}

struct ExampleBuildError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs a build command to its end, output captured (for the example builds).
func runCommand(_ path: String, _ arguments: [String]) -> (succeeded: Bool, output: String) {
    let scratch = Scratch()
    do {
        let finished = try runToEnd(path, arguments, in: scratch, limit: 600)
        return (finished.status == .exited(0), String((finished.stdout + finished.stderr).suffix(3000)))
    } catch {
        return (false, "\(path): \(error)")
    }
}
