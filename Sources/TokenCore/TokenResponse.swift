/// What the handler answers: a status, the JSON body, and what happened (for the log line).
///
/// Headers are derived, not stored: every answer is JSON, never cached, and carries its
/// length; a 405 also carries `Allow: POST`.
public struct TokenResponse: Sendable, Equatable {
    /// HTTP status code.
    public var status: Int
    /// The JSON body, UTF-8.
    public var body: [UInt8]
    /// Why this answer was given; adapters log it, it is never sent to the client.
    public var outcome: Outcome
    /// The number asked about, masked for the log (`+86138******78`, see ``MaskedNumber``); nil if
    /// none was decoded.
    public var maskedNumber: String?
    /// The body's media type: JSON for every answer to Udesk, text for metrics.
    public var contentType = "application/json; charset=utf-8"

    /// What a request came to, for logs and metrics.
    public enum Outcome: Sendable, Equatable {
        /// The number is in the store.
        case found
        /// The number was unknown and a token was minted for it.
        case minted
        /// A valid number the store does not know.
        case unknown
        /// The client's request was wrong; the error code is in the body too.
        case rejected(code: String)
        /// The server could not answer; `cause` is for the server log only.
        case failed(cause: String)
        /// Answered (a token, or unknown) from the fallback store, because the store could not
        /// answer in time.
        case fallback
    }

    /// Creates a response.
    public init(status: Int, body: [UInt8], outcome: Outcome, maskedNumber: String? = nil) {
        self.status = status
        self.body = body
        self.outcome = outcome
        self.maskedNumber = maskedNumber
    }

    /// A short name of the outcome for logs and metrics: `found`, `minted`, `unknown`, the
    /// error code of a rejected request, or `failed`.
    public var outcomeName: String {
        switch outcome {
        case .found: "found"
        case .minted: "minted"
        case .unknown: "unknown"
        case .rejected(let code): code
        case .failed: "failed"
        case .fallback: "fallback"
        }
    }

    /// Calls `field` with each header sent with the body, in order (the CGI framing writes them).
    @inlinable
    public func forEachHeader(_ field: (_ name: String, _ value: String) -> Void) {
        field("Content-Type", contentType)
        field("Content-Length", String(body.count))
        field("Cache-Control", "no-store")
        field("X-Content-Type-Options", "nosniff")
        if status == 405 { field("Allow", "POST") }
    }
}

/// Reason phrases for the statuses this service uses.
public enum HTTPStatus {
    /// The standard reason phrase for `status`.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
