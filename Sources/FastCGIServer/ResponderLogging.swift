import Logging
import TokenCore

/// Logging for the responder: swift-log to stderr (journald and Apache's error log collect it).
///
/// One `info` line per request: status, outcome, the masked number (`138****5678`) and the
/// latency. Full numbers, tokens and keys are never logged at any level.
public enum ResponderLogging {
    /// A logger writing `level` and above to stderr.
    public static func makeLogger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "token-responder") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }

    /// Logs one answered request; a server-side failure's cause goes in at `error` level.
    static func logRequest(_ logger: Logger, response: TokenResponse, endpoint: Endpoint, microseconds: Int64) {
        var metadata: Logger.Metadata = [
            "status": "\(response.status)",
            "outcome": "\(response.outcomeName)",
            "latency_ms": "\(Double(microseconds) / 1000)",
        ]
        if endpoint != .token { metadata["endpoint"] = "\(endpoint.rawValue)" }
        if let masked = response.maskedNumber { metadata["number"] = "\(masked)" }
        if case .failed(let cause) = response.outcome {
            metadata["cause"] = "\(cause)"
            logger.error("request failed", metadata: metadata)
        } else {
            logger.info("request", metadata: metadata)
        }
    }
}

/// What a request asks for: nginx says which through the `TOKEN_ENDPOINT` FastCGI parameter
/// (set in the health and metrics locations); without it, it is Udesk's token query.
enum Endpoint: String, Sendable {
    case token, health, metrics

    init(parameter: String?) {
        self = parameter.flatMap(Endpoint.init(rawValue:)) ?? .token
    }
}
