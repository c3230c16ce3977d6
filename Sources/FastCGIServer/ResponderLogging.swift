import Logging
import TokenCore

/// Logging for the responder: swift-log to stderr (journald and Apache's error log collect it).
///
/// One `info` line per request: status, outcome, the masked number (`+86138******78`) and the
/// latency. Full numbers, tokens and keys are never logged at any level.
public enum ResponderLogging {
    /// The label every line carries.
    static let label = "token-responder"

    /// A logger writing `level` and above to `fd` (stderr): directly, or through `writer` (which
    /// has its own descriptor) and then also collecting lines in `buffer` if given.
    public static func makeLogger(
        level: Logger.Level, fd: Int32 = 2, writer: LogWriter? = nil, buffer: LineBuffer? = nil
    ) -> Logger {
        var logger = Logger(label: label) { LineLogHandler(label: $0, fd: fd, writer: writer, buffer: buffer) }
        logger.logLevel = level
        return logger
    }

    /// Logs one answered request; a server-side failure's cause goes in at `error` level.
    /// The line is built as one string, piece by piece (no metadata dictionary, no floating
    /// point, no interpolation): it runs once per request (`docs/PERFORMANCE.md`).
    static func logRequest(_ logger: Logger, response: TokenResponse, endpoint: Endpoint, microseconds: Int64) {
        let failed: String?
        if case .failed(let cause) = response.outcome { failed = cause } else { failed = nil }
        guard logger.logLevel <= (failed == nil ? .info : .error) else { return }
        var line = ""
        line.reserveCapacity(128)
        line += "status="
        line += String(response.status)
        line += " outcome="
        line += response.outcomeName
        if endpoint != .token {
            line += " endpoint="
            line += endpoint.rawValue
        }
        if let masked = response.maskedNumber {
            line += " number="
            line += masked
        }
        let fraction = microseconds % 1000
        line += " latency_ms="
        line += String(microseconds / 1000)
        line += fraction < 10 ? ".00" : fraction < 100 ? ".0" : "."
        line += String(fraction)
        if let failed {
            line += " cause=\"\(failed)\" request failed"
            logger.error(Logger.Message(stringLiteral: line))
        } else {
            line += " request"
            logger.info(Logger.Message(stringLiteral: line))
        }
    }
}
