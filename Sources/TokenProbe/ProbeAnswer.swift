/// What one probe request came to: an HTTP answer, or a failure before any answer.
public struct ProbeAnswer: Sendable, Equatable {
    /// How the number was written in this request.
    public var encoding: NumberEncoding
    /// The answer or the failure.
    public var result: Result

    /// The outcome of one request.
    public enum Result: Sendable, Equatable {
        /// The server answered (any status).
        case answered(HTTPAnswer)
        /// No answer: DNS, connection, TLS or timeout failure.
        case failed(TransportFailure)
    }

    /// Creates an answer.
    public init(encoding: NumberEncoding, result: Result) {
        self.encoding = encoding
        self.result = result
    }

    /// The HTTP answer, if there was one.
    public var answer: HTTPAnswer? {
        if case .answered(let answer) = result { answer } else { nil }
    }

    /// The failure, if there was no answer.
    public var failure: TransportFailure? {
        if case .failed(let failure) = result { failure } else { nil }
    }
}

/// One HTTP answer as received: status, Content-Type, body and how long it took.
public struct HTTPAnswer: Sendable, Equatable {
    /// The status code of the last answer (after following 307/308 redirects).
    public var status: Int
    /// The Content-Type header, if any.
    public var contentType: String?
    /// The body, at most ``HTTPAnswer/maximumBodyBytes`` of it.
    public var body: [UInt8]
    /// True when the body was longer than ``HTTPAnswer/maximumBodyBytes`` and was cut.
    public var bodyTruncated: Bool
    /// Time from the start of the request to the end of the answer, redirects included
    /// (DNS, connect and TLS handshake too when a new connection was needed), in microseconds.
    public var microseconds: Int64
    /// The 307/308 redirects followed to get this answer, in order.
    public var redirects: [Redirect]
    /// Where a redirect status that was not followed (301, 302, 303…) points, masked.
    public var location: String?
    /// How many new connections the request opened (0 when a kept-alive one was reused).
    public var newConnections: Int

    /// Bodies are kept up to this size: a customer_token answer is tens of bytes.
    public static let maximumBodyBytes = 64 * 1024

    /// Creates an answer.
    public init(
        status: Int, contentType: String?, body: [UInt8], bodyTruncated: Bool = false, microseconds: Int64,
        redirects: [Redirect] = [], location: String? = nil, newConnections: Int = 0
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.bodyTruncated = bodyTruncated
        self.microseconds = microseconds
        self.redirects = redirects
        self.location = location
        self.newConnections = newConnections
    }
}

/// A redirect the probe followed because it keeps the method and body (307, 308).
public struct Redirect: Sendable, Equatable, Hashable {
    /// 307 or 308.
    public var status: Int
    /// The URL that answered with the redirect, masked.
    public var from: String
    /// Where it pointed, masked.
    public var to: String

    /// Creates a redirect record.
    public init(status: Int, from: String, to: String) {
        self.status = status
        self.from = from
        self.to = to
    }
}
