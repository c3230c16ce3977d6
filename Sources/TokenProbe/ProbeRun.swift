import TokenCore

/// Everything a probe run recorded, before any judgement: the input of ``ProbeReport``.
/// The libcurl transport fills it; unit tests write it by hand.
public struct ProbeRun: Sendable, Equatable {
    /// The endpoint as given.
    public var url: ProbeURL
    /// The number asked about, as typed.
    public var number: String
    /// The default country code `number` is read with, for ``maskedNumber``.
    public var countryCode: Int
    /// How many requests were asked for.
    public var requestedCount: Int
    /// How the certificate was checked.
    public var trust: ProbeConfiguration.TrustMode
    /// The answers (or failures), in request order; fewer than asked if the run stopped early.
    public var answers: [ProbeAnswer]
    /// The HTTPS server's leaf certificate, when one was seen.
    public var certificate: ServerCertificate?
    /// When the run started, UNIX seconds: "now" for certificate expiry.
    public var startedAt: Int64
    /// Per-request timeout used, for the failure lines.
    public var timeoutMilliseconds: Int
    /// Why the run stopped before `requestedCount`, if it did.
    public var stopReason: String?
    /// The customer_token the answers must carry (`--expect`), if given.
    public var expectedToken: String?

    /// Creates a run record.
    public init(
        url: ProbeURL, number: String, countryCode: Int = 86, requestedCount: Int,
        trust: ProbeConfiguration.TrustMode = .systemStore, answers: [ProbeAnswer],
        certificate: ServerCertificate? = nil, startedAt: Int64, timeoutMilliseconds: Int = 2000,
        stopReason: String? = nil, expectedToken: String? = nil
    ) {
        self.url = url
        self.number = number
        self.countryCode = countryCode
        self.requestedCount = requestedCount
        self.trust = trust
        self.answers = answers
        self.certificate = certificate
        self.startedAt = startedAt
        self.timeoutMilliseconds = timeoutMilliseconds
        self.stopReason = stopReason
        self.expectedToken = expectedToken
    }

    /// The number as ``MaskedNumber`` shows it (`13800138000` → `+86138******00`), the same text
    /// as the responder's log line for it.
    public var maskedNumber: String {
        MaskedNumber.mask(written: number, countryCode: countryCode)
    }
}
