/// A request that got no HTTP answer, and why, in plain words for the operator.
public struct TransportFailure: Sendable, Equatable, Error {
    /// The broad cause, stable for scripts (`--json`).
    public enum Kind: String, Sendable {
        /// The host name does not resolve.
        case dns
        /// Nothing listens on the port.
        case connectionRefused = "connection_refused"
        /// No route to the host or network.
        case unreachable
        /// No connection or no answer within the per-request timeout.
        case timeout
        /// TLS could not be negotiated (not a certificate problem).
        case tlsHandshake = "tls_handshake"
        /// The server's certificate was refused.
        case certificate
        /// The connection was closed or reset before a complete answer.
        case connectionClosed = "connection_closed"
        /// Something answered, but not with HTTP.
        case notHTTP = "not_http"
        /// The --cacert file cannot be used: a mistake on this side, not the endpoint's.
        case caFile = "cacert_file"
        /// Anything else (out of memory…).
        case other
    }

    /// The broad cause.
    public var kind: Kind
    /// What failed, in plain words; any URL in it is masked.
    public var message: String

    /// Creates a failure.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = ProbeURL.maskingSecrets(in: message)
    }
}
