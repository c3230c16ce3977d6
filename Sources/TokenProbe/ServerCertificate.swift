/// What the probe learnt about the HTTPS server's leaf certificate.
public struct ServerCertificate: Sendable, Equatable {
    /// Start of validity, UNIX seconds; nil if it could not be read.
    public var notBefore: Int64?
    /// End of validity, UNIX seconds; nil if it could not be read.
    public var notAfter: Int64?
    /// The `Expire date:` text libcurl reported, for the report when it cannot be parsed.
    public var expireDateText: String?
    /// How the chain was checked.
    public var verification: Verification

    /// The outcome of certificate verification.
    public enum Verification: Sendable, Equatable {
        /// The chain and host name were verified against the system trust store.
        case verifiedBySystemStore
        /// Verified against a CA file given with `--cacert` (a private CA or a self-signed cert).
        case verifiedByCAFile(String)
        /// The TLS handshake refused the certificate; `reason` says why in plain words.
        case rejected(reason: String)
        /// `--insecure`: not enforced. `problem` is why verification would have failed, when
        /// the TLS library still computed it (nil if it would have passed or is unknown).
        case skipped(problem: String?)
    }

    /// Creates a certificate record.
    public init(notBefore: Int64?, notAfter: Int64?, expireDateText: String? = nil, verification: Verification) {
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.expireDateText = expireDateText
        self.verification = verification
    }

    /// Plain words for an X.509 verification result code (OpenSSL's `X509_V_ERR_*`, which
    /// libcurl returns as CURLINFO_SSL_VERIFYRESULT); nil for 0 (valid) and unknown codes.
    public static func verifyResultWords(_ code: Int) -> String? {
        switch code {
        case 0: nil
        case 2: "the issuer certificate is missing (serve the full chain, e.g. fullchain.pem)"
        case 9: "the certificate is not valid yet"
        case 10: "the certificate has expired"
        case 18: "self-signed certificate"
        case 19: "self-signed certificate in the chain (a private CA)"
        case 20: "unknown issuer: the chain is incomplete (serve fullchain.pem) or the CA is not public"
        case 21: "cannot verify the first certificate: the intermediate certificate is missing (serve fullchain.pem)"
        case 23: "the certificate has been revoked"
        case 62: "the certificate does not match the host name"
        case 64: "the certificate does not match the IP address"
        default: nil
        }
    }
}
