/// Everything a probe run recorded, before any judgement: the input of ``ProbeReport``.
/// The libcurl transport fills it; unit tests write it by hand.
public struct ProbeRun: Sendable, Equatable {
    /// The endpoint as given.
    public var url: ProbeURL
    /// The number asked about, as typed.
    public var number: String
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

    /// Creates a run record.
    public init(
        url: ProbeURL, number: String, requestedCount: Int, trust: ProbeConfiguration.TrustMode = .systemStore,
        answers: [ProbeAnswer], certificate: ServerCertificate? = nil, startedAt: Int64,
        timeoutMilliseconds: Int = 2000, stopReason: String? = nil
    ) {
        self.url = url
        self.number = number
        self.requestedCount = requestedCount
        self.trust = trust
        self.answers = answers
        self.certificate = certificate
        self.startedAt = startedAt
        self.timeoutMilliseconds = timeoutMilliseconds
        self.stopReason = stopReason
    }

    /// The number with its middle digits hidden (`138****8000`), for the report.
    public var maskedNumber: String {
        let digitCount = number.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        var seen = 0
        var out: [UInt8] = []
        for byte in number.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                out.append(byte)
                continue
            }
            let keep = digitCount >= 9 ? (seen < 3 || seen >= digitCount - 4) : seen >= digitCount - 2
            out.append(keep ? byte : UInt8(ascii: "*"))
            seen += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
