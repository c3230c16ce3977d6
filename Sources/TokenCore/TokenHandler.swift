/// Answers Udesk's customer_token query: a pure function from a request (and a token lookup)
/// to a response. Imports neither libfcgi nor SQLite, so every rule is unit-tested with values.
///
/// Checks run in this order, and the first failure is the answer: shared key (403), method
/// (405), Content-Type (415), body size (413), empty body (400), JSON (400), timestamp window
/// (400/403, when configured), number (422), lookup (404, or 200 with an empty or minted token,
/// as configured).
public struct TokenHandler: Sendable {
    /// The rules this handler applies.
    public var configuration: HandlerConfiguration

    /// Creates a handler.
    public init(configuration: HandlerConfiguration = HandlerConfiguration()) {
        self.configuration = configuration
    }

    /// Answers `request`, looking the number up with `lookup`.
    public func respond<Lookup: TokenLookup>(to request: TokenRequest, lookup: inout Lookup) -> TokenResponse {
        var masked: String?
        do throws(RequestError) {
            let key = try canonicalKey(for: request)
            masked = MaskedNumber.mask(key: key)
            if let token = try find(key, in: &lookup) {
                return Self.success(
                    token: token, outcome: lookup.answeredFromFallback ? .fallback : .found, maskedNumber: masked)
            }
            if lookup.answeredFromFallback {
                // The fallback is a snapshot: nothing is minted from it, and it does not know every number.
                var response =
                    configuration.unknownNumbers == .empty
                    ? Self.success(token: "", outcome: .fallback) : RequestError.unknownNumber.response
                response.outcome = .fallback
                response.maskedNumber = masked
                return response
            }
            switch configuration.unknownNumbers {
            case .notFound: throw .unknownNumber
            case .empty: return Self.success(token: "", outcome: .unknown, maskedNumber: masked)
            case .mint:
                let minted: String?
                do {
                    minted = try lookup.mintToken(forKey: key)
                } catch {
                    throw .storeUnavailable(cause: "\(error)")
                }
                // Past the minting limit, unknown numbers are answered as with not-found.
                guard let token = minted else { throw .unknownNumber }
                return Self.success(token: token, outcome: .minted, maskedNumber: masked)
            }
        } catch {
            var response = error.response
            response.maskedNumber = masked
            return response
        }
    }

    private func find<Lookup: TokenLookup>(_ key: String, in lookup: inout Lookup) throws(RequestError) -> String? {
        do {
            return try lookup.token(forKey: key)
        } catch {
            throw .storeUnavailable(cause: "\(error)")
        }
    }

    /// Validates `request` and returns the canonical key of the number it asks about.
    public func canonicalKey(for request: TokenRequest) throws(RequestError) -> String {
        if let sharedKey = configuration.sharedKey, !sharedKey.isCarried(by: request.queryString) {
            throw .forbidden
        }
        guard request.method == "POST" else { throw .methodNotAllowed }
        guard let contentType = request.contentType, Self.isJSON(contentType: contentType) else {
            throw .unsupportedMediaType
        }
        let limit = configuration.maxBodyBytes
        if let declared = request.contentLength, declared > limit { throw .bodyTooLarge(limit: limit) }
        if request.body.count > limit { throw .bodyTooLarge(limit: limit) }
        if request.body.isEmpty { throw .emptyBody }
        let query = try configuration.decoder.decode(request.body)
        if let maxSkew = configuration.maxSkewSeconds {
            guard let sent = query.timestamp else { throw .missingTimestamp }
            // Udesk sends seconds; accept milliseconds too rather than reject a whole integration.
            let seconds = sent > 100_000_000_000 ? sent / 1000 : sent
            let (skew, overflow) = request.receivedAt.subtractingReportingOverflow(seconds)
            guard !overflow, skew.magnitude <= maxSkew.magnitude else { throw .timestampOutOfWindow(maxSkew: maxSkew) }
        }
        do {
            return try configuration.normaliser.normalise(query.number).key
        } catch {
            throw .invalidNumber(error)
        }
    }

    /// Whether the store opens and answers a query (``TokenLookup/checkHealth()``): the health
    /// check behind the health location. 200 `{"status":"ok"}`, 200 `{"status":"degraded"}` when
    /// only the fallback store answers, or 503 `{"status":"unavailable"}` (cause in `outcome`).
    public func health<Lookup: TokenLookup>(lookup: inout Lookup) -> TokenResponse {
        do {
            try lookup.checkHealth()
            if lookup.answeredFromFallback {
                return TokenResponse(status: 200, body: Array(#"{"status":"degraded"}"#.utf8), outcome: .fallback)
            }
            return TokenResponse(status: 200, body: Array(#"{"status":"ok"}"#.utf8), outcome: .found)
        } catch {
            return TokenResponse(
                status: 503, body: Array(#"{"status":"unavailable"}"#.utf8), outcome: .failed(cause: "\(error)"))
        }
    }

    /// The 200 answer `{"customer_token":"…"}`.
    public static func success(token: String, outcome: TokenResponse.Outcome, maskedNumber: String? = nil)
        -> TokenResponse
    {
        var body: [UInt8] = []
        body.reserveCapacity(22 + token.utf8.count)
        body.appendUTF8(#"{"customer_token":"#)
        JSONText.appendString(token, to: &body)
        body.append(UInt8(ascii: "}"))
        return TokenResponse(status: 200, body: body, outcome: outcome, maskedNumber: maskedNumber)
    }

    /// True when the media type is `application/json` (case-insensitive), whatever its
    /// parameters: Udesk sends `application/json;charset=utf8`, others send `charset=utf-8` or none.
    /// The body itself must be UTF-8 in every case; the decoder checks that.
    public static func isJSON(contentType: String) -> Bool {
        // A plain loop over the bytes: runs per request, where lazy slices and zip cost
        // measurably more (docs/PERFORMANCE.md).
        func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
            var start = 0
            while start < end && isSpace(bytes[start]) { start += 1 }
            while end > start && isSpace(bytes[end - 1]) { end -= 1 }
            guard end - start == expectedMediaType.count else { return false }
            for offset in 0..<expectedMediaType.count
            where lowercased(bytes[start + offset]) != expectedMediaType[offset] {
                return false
            }
            return true
        }
        return contentType.utf8.withContiguousStorageIfAvailable(check)
            ?? Array(contentType.utf8).withUnsafeBufferPointer(check)
    }

    private static let expectedMediaType = Array("application/json".utf8)

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
