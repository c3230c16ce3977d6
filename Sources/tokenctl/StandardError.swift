import Glibc

/// Writes `line` and a newline to stderr in one write(2).
func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}
