import Glibc

/// Severity of a log line.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error

    /// Parses `debug`, `info`, `warning` (or `warn`), `error`.
    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    /// Lower-case name.
    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    /// Orders by severity.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Writes one line per event to stderr (journald and Apache's error log collect it), each line
/// in a single write(2) so lines from different threads never interleave.
public struct ServerLog: Sendable {
    /// Lowest level written.
    public var level: LogLevel

    /// Creates a log writing `level` and above.
    public init(level: LogLevel) {
        self.level = level
    }

    /// Writes `message` if `severity` is at or above the configured level.
    public func log(_ severity: LogLevel, _ message: @autoclosure () -> String) {
        guard severity >= level else { return }
        let line = "token-responder \(severity.name): \(message())\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
