/// How the handler answers; filled from flags or the environment by the executables.
public struct HandlerConfiguration: Sendable {
    /// What to answer for a valid number that the store does not know.
    public enum UnknownNumberPolicy: String, Sendable, CaseIterable {
        /// 404 with the `unknown_number` JSON error (default).
        case notFound = "not-found"
        /// 200 with `{"customer_token":""}`, for integrations that prefer an empty token.
        case empty
        /// 200 with a token derived from the number (and recorded in the store): every caller
        /// gets a stable customer id. Udesk creates a customer for every token it has not seen.
        case mint
    }

    /// Largest accepted request body in bytes; longer bodies get 413. Default 4 KiB, far above
    /// Udesk's ~50-byte body.
    public var maxBodyBytes: Int
    /// What to answer for unknown numbers.
    public var unknownNumbers: UnknownNumberPolicy
    /// The number normaliser (default region China).
    public var normaliser: PhoneNumberNormaliser
    /// The body decoder.
    public var decoder: UdeskQueryDecoder
    /// If set, requests must carry this secret as the `key` query parameter (else 403).
    public var sharedKey: SharedKey?
    /// If set, requests must carry a `timestamp` within this many seconds of the server's clock
    /// (else 403), so a captured request cannot be replayed later.
    public var maxSkewSeconds: Int64?

    /// Default cap on the request body.
    public static let defaultMaxBodyBytes = 4096

    /// Creates a configuration; every field has a production default.
    public init(
        maxBodyBytes: Int = HandlerConfiguration.defaultMaxBodyBytes,
        unknownNumbers: UnknownNumberPolicy = .notFound,
        normaliser: PhoneNumberNormaliser = PhoneNumberNormaliser(),
        decoder: UdeskQueryDecoder = UdeskQueryDecoder(),
        sharedKey: SharedKey? = nil, maxSkewSeconds: Int64? = nil
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.unknownNumbers = unknownNumbers
        self.normaliser = normaliser
        self.decoder = decoder
        self.sharedKey = sharedKey
        self.maxSkewSeconds = maxSkewSeconds
    }
}
