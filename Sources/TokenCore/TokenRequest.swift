/// One request as the web server hands it over, reduced to the values the handler needs.
///
/// The FastCGI and CGI adapters fill it from request parameters (or the environment) and
/// standard input; tests build it directly.
public struct TokenRequest: Sendable {
    /// `REQUEST_METHOD`, e.g. `POST`.
    public var method: String
    /// `CONTENT_TYPE`, or `nil` when the client sent none.
    public var contentType: String?
    /// `CONTENT_LENGTH` as declared by the web server, or `nil` when absent or not a number.
    public var contentLength: Int?
    /// The body as read so far. Adapters read at most `maxBodyBytes + 1` bytes, so a body
    /// longer than the cap is recognisable without reading all of it.
    public var body: [UInt8]
    /// `QUERY_STRING` without the leading `?` (empty when there is none).
    public var queryString: String
    /// When the request arrived, in UNIX seconds (for the optional timestamp window).
    public var receivedAt: Int64

    /// Creates a request from its parts.
    public init(
        method: String, contentType: String?, contentLength: Int?, body: [UInt8],
        queryString: String = "", receivedAt: Int64 = 0
    ) {
        self.method = method
        self.contentType = contentType
        self.contentLength = contentLength
        self.body = body
        self.queryString = queryString
        self.receivedAt = receivedAt
    }
}
