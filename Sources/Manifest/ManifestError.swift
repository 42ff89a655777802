/// A place in a manifest file: 1-based line and column, columns counted in Unicode scalars
/// (as libyaml counts them).
public struct SourcePosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The manifest's file name as the caller gave it (a path, or a label for in-memory text).
    public let file: String
    /// Line number, from 1.
    public let line: Int
    /// Column number, from 1.
    public let column: Int

    /// Makes a position; `line` and `column` are 1-based.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column)" }

    /// Orders by file, then line, then column.
    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One thing wrong with a manifest: where, which field, and what was expected.
///
/// The description has one fixed form, `file:line:column: field message`, for example
/// `walk.yaml:12:5: workers.walker.instances must be from 1 to 1024 (got 0)`. The message is
/// written to follow the field name. Errors that belong to no field (YAML syntax, an empty
/// document) have an empty `field` and print as `file:line:column: message`.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the offending key or value starts.
    public let position: SourcePosition
    /// The dotted path of the field, e.g. `workers.walker.instances` or `workers.walker.to[1]`;
    /// empty when the error concerns the document as a whole.
    public let field: String
    /// What is wrong and what was expected, phrased to follow `field`.
    public let message: String

    /// Makes an error.
    public init(position: SourcePosition, field: String, message: String) {
        self.position = position
        self.field = field
        self.message = message
    }

    /// `file:line:column: field message` (or `file:line:column: message` without a field).
    public var description: String {
        field.isEmpty ? "\(position): \(message)" : "\(position): \(field) \(message)"
    }
}

/// Every error found in one manifest, sorted by position. Thrown by `Manifest.load` and
/// `Manifest.parse`, never empty.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    /// The errors in position order (line, then column).
    public let errors: [ManifestError]

    /// Wraps `errors`, sorting them by position (then field and message, so the order is stable).
    public init(_ errors: [ManifestError]) {
        self.errors = errors.sorted {
            ($0.position, $0.field, $0.message) < ($1.position, $1.field, $1.message)
        }
    }

    /// One error per line, in position order, without a trailing newline.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
