import Logging
import Synchronization
import TokenCore

/// Logging for the responder: swift-log to stderr (journald and Apache's error log collect it),
/// or to the file of `--log-file` (``LogOutput``).
///
/// One `info` line per Udesk query: status, outcome, the masked number (`+86138******78`), the
/// latency and nginx's `$request_id`; health checks and metrics scrapes are logged at `debug`.
/// Full numbers, tokens and keys are never logged at any level.
public enum ResponderLogging {
    /// The label every line carries.
    static let label = "token-responder"

    /// Where the process logs; stderr until ``useLogFile(_:)``.
    private static let current = Mutex<LogOutput?>(nil)

    /// Where lines go now: the log file once one is in use, else stderr.
    public static var output: LogOutput {
        current.withLock { current in
            if let current { return current }
            let standardError = LogOutput.standardError()
            current = standardError
            return standardError
        }
    }

    /// Sends every line from now on to the file at `path`, opened for appending (loggers made
    /// before keep their destination). A second call with the same path changes nothing.
    public static func useLogFile(_ path: String) throws(LogFileError) {
        if current.withLock({ $0?.path == path }) { return }
        let file = try LogOutput.file(path)
        current.withLock { $0 = file }
    }

    /// A logger writing `level` and above to `fd` (the process's ``output`` unless given):
    /// directly, or through `writer` (which has its own descriptor) and then also collecting
    /// lines in `buffer` if given.
    public static func makeLogger(
        level: Logger.Level, fd: Int32? = nil, writer: LogWriter? = nil, buffer: LineBuffer? = nil
    ) -> Logger {
        let output = fd == nil ? output : nil
        let fd = fd ?? output!.fd
        let priorities = output?.priorities ?? false
        var logger = Logger(label: label) {
            LineLogHandler(label: $0, fd: fd, writer: writer, buffer: buffer, priorities: priorities)
        }
        logger.logLevel = level
        return logger
    }

    /// Logs one answered request: a Udesk query at `info`, a health check or metrics scrape at
    /// `debug` (monitors poll every few seconds), a server-side failure's cause at `error`;
    /// `requestID` is nginx's `$request_id` (``RequestID``), which its access log line carries
    /// too. The line is built as one string, piece by piece (no metadata dictionary, no floating
    /// point, no interpolation): it runs once per request (`docs/PERFORMANCE.md`).
    static func logRequest(
        _ logger: Logger, response: TokenResponse, endpoint: Endpoint, microseconds: Int64,
        requestID: [UInt8] = []
    ) {
        let failed: String?
        if case .failed(let cause) = response.outcome { failed = cause } else { failed = nil }
        let level: Logger.Level = failed != nil ? .error : endpoint == .token ? .info : .debug
        guard logger.logLevel <= level else { return }
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
        if !requestID.isEmpty {
            line += " request_id="
            RequestID.append(requestID, to: &line)
        }
        if let failed {
            line += " cause=\"\(failed)\" request failed"
            logger.error(Logger.Message(stringLiteral: line))
        } else {
            line += " request"
            logger.log(level: level, Logger.Message(stringLiteral: line))
        }
    }
}
