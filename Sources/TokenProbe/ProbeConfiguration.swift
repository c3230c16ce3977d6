/// What to probe and how; `tokenctl probe` fills it from its arguments, tests build it directly.
public struct ProbeConfiguration: Sendable {
    /// How the server's certificate is checked.
    public enum TrustMode: Sendable, Equatable {
        /// Against the system trust store, as Udesk does (default).
        case systemStore
        /// Against the CA certificates in this PEM file (a private CA or a self-signed cert).
        case caFile(String)
        /// Not enforced (`--insecure`); the certificate is still examined and reported.
        case insecure
    }

    /// The endpoint, as configured in Udesk.
    public var url: ProbeURL
    /// The phone number to ask about, as typed.
    public var number: String
    /// The default country code for reading `number`, as the store's normaliser reads it; only
    /// the report's masked number depends on it.
    public var countryCode: Int
    /// How many requests to send (alternating the number's encodings).
    public var count: Int
    /// Certificate checking.
    public var trust: TrustMode
    /// Per-request limit, connection set-up included. Udesk gives up after 500 ms; waiting
    /// longer lets the report say how slow a slow endpoint is instead of just "timeout".
    public var timeoutMilliseconds: Int
    /// Udesk's answer-time budget.
    public var budgetMilliseconds: Int
    /// 307/308 redirects followed per request (301/302/303 never are: they turn POST into GET).
    public var maximumRedirects: Int
    /// The run stops after this many requests in a row got no answer (and at once when the first does).
    public var maximumConsecutiveFailures: Int
    /// The customer_token every answer must carry (`--expect`); nil accepts any non-empty one.
    public var expectedToken: String?

    /// Default number of requests.
    public static let defaultCount = 5
    /// Largest accepted `--count`.
    public static let maximumCount = 10_000

    /// Creates a configuration; every field but the URL and number has a default.
    public init(
        url: ProbeURL, number: String, countryCode: Int = 86, count: Int = ProbeConfiguration.defaultCount,
        trust: TrustMode = .systemStore, timeoutMilliseconds: Int = 2000, budgetMilliseconds: Int = 500,
        maximumRedirects: Int = 3, maximumConsecutiveFailures: Int = 3, expectedToken: String? = nil
    ) {
        self.url = url
        self.number = number
        self.countryCode = countryCode
        self.count = count
        self.trust = trust
        self.timeoutMilliseconds = timeoutMilliseconds
        self.budgetMilliseconds = budgetMilliseconds
        self.maximumRedirects = maximumRedirects
        self.maximumConsecutiveFailures = maximumConsecutiveFailures
        self.expectedToken = expectedToken
    }

    /// Throws a ``ProbeUsageError`` for an empty number or a count out of range.
    public func validate() throws(ProbeUsageError) {
        if number.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { throw ProbeUsageError("the number is empty") }
        if number.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw ProbeUsageError("the number contains control characters")
        }
        if let expectedToken, expectedToken.isEmpty {
            throw ProbeUsageError("--expect needs the customer_token the answers must carry")
        }
        guard (1...Self.maximumCount).contains(count) else {
            throw ProbeUsageError("--count must be from 1 to \(Self.maximumCount)")
        }
    }
}
