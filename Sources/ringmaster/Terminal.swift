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
