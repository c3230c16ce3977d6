/// Every way a request can fail, each with a stable machine-readable code, an HTTP status and a
/// human message. This is the one place that maps errors to statuses.
///
/// Messages never contain the phone number or anything else the client sent.
public enum RequestError: Error, Sendable, Equatable {
    /// The `key` query parameter is missing or wrong (403).
    case forbidden
    /// A time window is configured and the body has no `timestamp` (400).
    case missingTimestamp
    /// `timestamp` is further from the server's clock than the configured window (403).
    case timestampOutOfWindow(maxSkew: Int64)
    /// Any method but POST (405).
    case methodNotAllowed
    /// Content-Type missing or not `application/json` (415).
    case unsupportedMediaType
    /// The body is longer than the configured cap (413).
    case bodyTooLarge(limit: Int)
    /// No body at all (400).
    case emptyBody
    /// The body is not one well-formed JSON object (400); `reason` says where it went wrong.
    case invalidJSON(reason: String)
    /// The object has no `number` member (400).
    case missingNumber
    /// A member has the wrong JSON type or is duplicated (400).
    case invalidField(reason: String)
    /// `number` is present but cannot be a phone number (422).
    case invalidNumber(InvalidPhoneNumber)
    /// A valid number that the store does not know (404).
    case unknownNumber
    /// The store could not be read (500); `cause` goes to the server log only.
    case storeUnavailable(cause: String)
    /// The responder's own configuration is invalid (500), e.g. a bad `TOKEN_*` variable in plain
    /// CGI or an unreadable mint key; `cause` goes to the server log only.
    case misconfigured(cause: String)

    /// HTTP status code.
    public var status: Int {
        switch self {
        case .forbidden, .timestampOutOfWindow: 403
        case .missingTimestamp: 400
        case .methodNotAllowed: 405
        case .unsupportedMediaType: 415
        case .bodyTooLarge: 413
        case .emptyBody, .invalidJSON, .missingNumber, .invalidField: 400
        case .invalidNumber: 422
        case .unknownNumber: 404
        case .storeUnavailable, .misconfigured: 500
        }
    }

    /// Stable machine-readable code, sent as `error` in the body.
    public var code: String {
        switch self {
        case .forbidden: "forbidden"
        case .missingTimestamp: "missing_timestamp"
        case .timestampOutOfWindow: "timestamp_out_of_window"
        case .methodNotAllowed: "method_not_allowed"
        case .unsupportedMediaType: "unsupported_media_type"
        case .bodyTooLarge: "body_too_large"
        case .emptyBody: "empty_body"
        case .invalidJSON: "invalid_json"
        case .missingNumber: "missing_number"
        case .invalidField: "invalid_field"
        case .invalidNumber: "invalid_number"
        case .unknownNumber: "unknown_number"
        case .storeUnavailable: "store_unavailable"
        case .misconfigured: "server_misconfigured"
        }
    }

    /// Human-readable explanation, sent as `message` in the body.
    public var message: String {
        switch self {
        case .forbidden: "missing or wrong key parameter in the URL"
        case .missingTimestamp: "JSON object has no \"timestamp\" field, which this endpoint requires"
        case .timestampOutOfWindow(let maxSkew):
            "\"timestamp\" is more than \(maxSkew) seconds away from the server's clock"
        case .methodNotAllowed: "only POST is supported"
        case .unsupportedMediaType: "Content-Type must be application/json"
        case .bodyTooLarge(let limit): "request body is larger than \(limit) bytes"
        case .emptyBody: "request body is empty; expected a JSON object with \"number\""
        case .invalidJSON(let reason): "request body is not a valid JSON object: \(reason)"
        case .missingNumber: "JSON object has no \"number\" field"
        case .invalidField(let reason): reason
        case .invalidNumber(let why): why.message
        case .unknownNumber: "no customer is known for this number"
        case .storeUnavailable: "the token store is unavailable; try again later"
        case .misconfigured: "the responder is misconfigured; its log says how"
        }
    }

    /// The JSON error body: `{"error":"<code>","message":"<message>"}`.
    public var body: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + message.utf8.count)
        out.appendUTF8(#"{"error":"#)
        JSONText.appendString(code, to: &out)
        out.appendUTF8(#","message":"#)
        JSONText.appendString(message, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The complete response for this error.
    public var response: TokenResponse {
        let outcome: TokenResponse.Outcome =
            switch self {
            case .unknownNumber: .unknown
            case .storeUnavailable(let cause), .misconfigured(let cause): .failed(cause: cause)
            default: .rejected(code: code)
            }
        return TokenResponse(status: status, body: body, outcome: outcome)
    }
}
