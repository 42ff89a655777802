import Glibc

/// The benchmark's report output: one line to standard output, written at once (the report is
/// this program's product, and children share the terminal, so nothing waits in a buffer).
func say(_ line: String = "") {
    let text = line + "\n"
    _ = text.withCString { write(1, $0, strlen($0)) }
}
