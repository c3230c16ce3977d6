import Glibc
import Logging
import TokenCore
import TokenStore

/// Plain-CGI mode: one request from the environment and stdin, the answer on stdout.
///
/// For PHP-style hosting (Apache `ScriptAlias`, nginx + fcgiwrap), where the web server starts
/// the program once per request. The store is opened per request, which costs O(1) in its size.
public enum CGIResponder {
    /// True when this process looks like a CGI invocation: the web server set
    /// `GATEWAY_INTERFACE` (or at least `REQUEST_METHOD`) and fd 0 is not a listening socket.
    public static var isCGIInvocation: Bool {
        (getenv("GATEWAY_INTERFACE") != nil || getenv("REQUEST_METHOD") != nil)
            && !ListeningSocket.isListeningSocket(0)
    }

    /// Answers the one request described by the environment and stdin; returns the exit status.
    public static func run(configuration: ServerConfiguration) -> Int32 {
        let started = monotonicMicroseconds()
        let logger = ResponderLogging.makeLogger(level: configuration.logLevel)
        let limit = configuration.handler.maxBodyBytes
        let contentLength = environment("CONTENT_LENGTH").flatMap { Int($0) }
        let body = readAll(0, limit: min(contentLength ?? Int.max, limit + 1))
        let handler = TokenHandler(configuration: configuration.handler)
        let endpoint = Endpoint(parameter: environment("TOKEN_ENDPOINT"))
        var lookup: StoreLookup
        do {
            lookup = .open(try configuration.openReader(minting: try configuration.makeMinting(logger: logger)))
        } catch {
            lookup = .unavailable(error)
        }
        let response: TokenResponse
        switch endpoint {
        case .token:
            let request = TokenRequest(cgiVariable: environment, contentLength: contentLength, body: body)
            response = handler.respond(to: request, lookup: &lookup)
        case .health:
            response = handler.health(lookup: &lookup)
        case .metrics:
            // A CGI process lives for one request: it has no counters to report.
            response = TokenResponse(
                status: 404,
                body: Array(#"{"error":"not_found","message":"metrics are only kept in FastCGI mode"}"#.utf8),
                outcome: .rejected(code: "not_found"))
        }
        let written = writeAll(response.cgiBytes(), to: 1)
        ResponderLogging.logRequest(
            logger, response: response, endpoint: endpoint, microseconds: monotonicMicroseconds() - started)
        return written ? 0 : 1
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }
}
