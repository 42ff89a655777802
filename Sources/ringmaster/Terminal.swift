import Glibc
import Logging
import Manifest

/// Standard error output for the CLI's own messages.
enum Terminal {
    static func error(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}

/// Logging to standard error at the chosen level.
enum LogSetup {
    static func level(_ name: String) -> Logger.Level? { Logger.Level(rawValue: name.lowercased()) }

    static func bootstrap(level: String) -> Logger {
        let chosen = self.level(level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
        var logger = Logger(label: "ringmaster")
        logger.logLevel = chosen
        return logger
    }
}

extension CommandResolver {
    /// Resolves commands as a path, beside this `ringmaster` binary, then on PATH.
    static func forThisProgram() -> CommandResolver {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
        let directory = exe.lastIndex(of: "/").map { String(exe[..<$0]) } ?? "."
        var cwd = [CChar](repeating: 0, count: 4096)
        let workingDirectory = getcwd(&cwd, cwd.count) != nil ? String(decoding: cwd.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
        return CommandResolver(binaryDirectory: directory, searchPath: String(cString: getenv("PATH") ?? strdup("/usr/bin:/bin")), workingDirectory: workingDirectory)
    }
}
