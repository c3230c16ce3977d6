import CCurl
import Glibc

/// Sends Udesk's request to the endpoint `count` times over one libcurl handle and records the
/// answers: the transport half of the probe. The judgement is ``ProbeReport``'s.
///
/// Each request is `POST URL` with `Content-Type: application/json;charset=utf8` and
/// `{"timestamp": <now>, "number": …}`, the number alternately a JSON integer and a string.
/// Redirects are not followed, except 307/308 (which keep the POST), up to
/// ``ProbeConfiguration/maximumRedirects`` per request. The run stops at once when the first
/// request gets no answer (nothing more to learn), when the certificate is refused, and after
/// ``ProbeConfiguration/maximumConsecutiveFailures`` failures in a row.
public struct CurlProber {
    /// What to probe.
    public let configuration: ProbeConfiguration

    /// Creates a prober.
    public init(configuration: ProbeConfiguration) {
        self.configuration = configuration
    }

    /// Sends the requests and returns what happened, never throwing: every failure is recorded.
    public func run() -> ProbeRun {
        // libcurl does not ignore SIGPIPE when CURLOPT_NOSIGNAL is set; a server closing the
        // connection under a write must be an error, not the end of tokenctl.
        signal(SIGPIPE, SIG_IGN)
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        var run = ProbeRun(
            url: configuration.url, number: configuration.number, countryCode: configuration.countryCode,
            requestedCount: configuration.count,
            trust: configuration.trust, answers: [], startedAt: Int64(time(nil)),
            timeoutMilliseconds: configuration.timeoutMilliseconds, expectedToken: configuration.expectedToken)
        let encodings = NumberEncoding.encodings(for: configuration.number)
        guard let easy = CurlEasy(timeoutMilliseconds: configuration.timeoutMilliseconds, trust: configuration.trust)
        else {
            run.answers.append(
                ProbeAnswer(
                    encoding: encodings[0],
                    result: .failed(TransportFailure(kind: .other, message: "libcurl could not start"))))
            return run
        }
        var failuresInARow = 0
        for index in 0..<configuration.count {
            let encoding = encodings[index % encodings.count]
            let body = encoding.body(number: configuration.number, timestamp: Int64(time(nil)))
            let outcome = request(body: body, with: easy)
            if run.certificate == nil, let certificate = outcome.certificate { run.certificate = certificate }
            run.answers.append(ProbeAnswer(encoding: encoding, result: outcome.result))
            guard case .failed(let failure) = outcome.result else {
                failuresInARow = 0
                continue
            }
            failuresInARow += 1
            if failure.kind == .certificate {
                run.certificate = refusedCertificate(url: outcome.url, reason: failure.message)
                if configuration.count > 1 { run.stopReason = "probe stopped: the certificate was refused" }
                break
            }
            if index == 0 && configuration.count > 1 {
                run.stopReason = "probe stopped after the first request"
                break
            }
            if failuresInARow >= configuration.maximumConsecutiveFailures && index + 1 < configuration.count {
                run.stopReason = "probe stopped after \(failuresInARow) failed requests in a row"
                break
            }
        }
        return run
    }

    /// One request as a client following only 307/308 would make it: the final answer, the
    /// URL it came from, and the certificate if a TLS handshake happened.
    private func request(body: [UInt8], with easy: CurlEasy)
        -> (result: ProbeAnswer.Result, url: String, certificate: ServerCertificate?)
    {
        var url = configuration.url.text
        var redirects: [Redirect] = []
        var microseconds: Int64 = 0
        var connections = 0
        var certificate: ServerCertificate?
        while true {
            let transfer = easy.perform(url: url, body: body)
            microseconds += transfer.microseconds
            connections += transfer.newConnections
            if certificate == nil, transfer.code == 0, let expire = transfer.leafExpireDate {
                certificate = ServerCertificate(
                    notBefore: transfer.leafStartDate.flatMap(CertificateDate.parse),
                    notAfter: CertificateDate.parse(expire), expireDateText: expire,
                    verification: verification(verifyResult: transfer.verifyResult))
            }
            guard transfer.code == 0 else {
                return (.failed(failure(transfer, url: url)), url, certificate)
            }
            let location = transfer.redirectURL
            if transfer.status == 307 || transfer.status == 308, let location,
                redirects.count < configuration.maximumRedirects
            {
                redirects.append(
                    Redirect(
                        status: transfer.status, from: ProbeURL.maskingSecrets(in: url),
                        to: ProbeURL.maskingSecrets(in: location)))
                url = location
                continue
            }
            let answer = HTTPAnswer(
                status: transfer.status, contentType: transfer.contentType, body: transfer.body,
                bodyTruncated: transfer.bodyTruncated, microseconds: microseconds, redirects: redirects,
                location: (300..<400).contains(transfer.status) ? location.map(ProbeURL.maskingSecrets(in:)) : nil,
                newConnections: connections)
            return (.answered(answer), url, certificate)
        }
    }

    private func verification(verifyResult: Int) -> ServerCertificate.Verification {
        switch configuration.trust {
        case .systemStore: return .verifiedBySystemStore
        case .caFile(let path): return .verifiedByCAFile(path)
        case .insecure:
            if verifyResult == 0 { return .skipped(problem: nil) }
            return .skipped(problem: ServerCertificate.verifyResultWords(verifyResult) ?? "X.509 error \(verifyResult)")
        }
    }

    /// The refused certificate's dates, fetched with a second, unverified TLS handshake (no
    /// request is sent), so the report can say "expired on …" rather than only "refused".
    private func refusedCertificate(url: String, reason: String) -> ServerCertificate {
        var certificate = ServerCertificate(notBefore: nil, notAfter: nil, verification: .rejected(reason: reason))
        guard
            let easy = CurlEasy(
                timeoutMilliseconds: configuration.timeoutMilliseconds, trust: .insecure, connectOnly: true)
        else { return certificate }
        let transfer = easy.perform(url: url, body: [])
        if let expire = transfer.leafExpireDate {
            certificate.notBefore = transfer.leafStartDate.flatMap(CertificateDate.parse)
            certificate.notAfter = CertificateDate.parse(expire)
            certificate.expireDateText = expire
        }
        return certificate
    }

    /// A failed transfer in plain words.
    private func failure(_ transfer: CurlEasy.Transfer, url: String) -> TransportFailure {
        let target = (try? ProbeURL(url)) ?? configuration.url
        let place = "\(target.host) port \(target.port)"
        let detail = transfer.errorText
        let timeout = configuration.timeoutMilliseconds
        switch transfer.code {
        case Int(CURLE_COULDNT_RESOLVE_HOST.rawValue):
            return TransportFailure(kind: .dns, message: "DNS: cannot resolve the host name \(target.host)")
        case Int(CURLE_COULDNT_RESOLVE_PROXY.rawValue):
            return TransportFailure(
                kind: .dns, message: "DNS: cannot resolve the proxy host set by https_proxy/http_proxy")
        case Int(CURLE_COULDNT_CONNECT.rawValue):
            switch Int32(transfer.osErrno) {
            case ECONNREFUSED:
                return TransportFailure(
                    kind: .connectionRefused, message: "connection refused: nothing listens on \(place)")
            case EHOSTUNREACH, ENETUNREACH:
                return TransportFailure(kind: .unreachable, message: "cannot reach \(place): no route to the host")
            default:
                return TransportFailure(kind: .unreachable, message: "cannot connect to \(place): \(detail)")
            }
        case Int(CURLE_OPERATION_TIMEDOUT.rawValue):
            // libcurl counts the TLS handshake as part of connecting: no connect time means the
            // TCP connection or the handshake did not finish.
            if transfer.connectMicroseconds == 0 {
                let phase = target.scheme == .https ? "connection or TLS handshake" : "connection"
                return TransportFailure(
                    kind: .timeout,
                    message: "timeout: no \(phase) with \(place) within \(timeout) ms (a firewall dropping packets, "
                        + "or a server that does not answer)")
            }
            return TransportFailure(
                kind: .timeout,
                message:
                    "timeout: no answer within \(timeout) ms (Udesk gives up after \(configuration.budgetMilliseconds) ms)"
            )
        case Int(CURLE_SSL_CONNECT_ERROR.rawValue):
            let hint =
                detail.contains("wrong version number") ? " (is that port serving plain http? try an http:// URL)" : ""
            return TransportFailure(
                kind: .tlsHandshake, message: "TLS handshake with \(place) failed: \(detail)\(hint)")
        case Int(CURLE_PEER_FAILED_VERIFICATION.rawValue):
            return TransportFailure(kind: .certificate, message: certificateProblem(transfer, host: target.host))
        case Int(CURLE_SSL_CACERT_BADFILE.rawValue), Int(CURLE_SSL_CERTPROBLEM.rawValue):
            return TransportFailure(kind: .caFile, message: "cannot use the --cacert file: \(detail)")
        case Int(CURLE_GOT_NOTHING.rawValue):
            return TransportFailure(
                kind: .connectionClosed, message: "\(place) closed the connection without answering")
        case Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue):
            return TransportFailure(kind: .connectionClosed, message: "the connection to \(place) broke: \(detail)")
        case Int(CURLE_WEIRD_SERVER_REPLY.rawValue):
            return TransportFailure(kind: .notHTTP, message: "\(place) answered, but not in HTTP: \(detail)")
        case Int(CURLE_UNSUPPORTED_PROTOCOL.rawValue) where detail.contains("HTTP/0.9"):
            return TransportFailure(kind: .notHTTP, message: "\(place) answered, but not in HTTP/1.x: \(detail)")
        default:
            return TransportFailure(kind: .other, message: "request failed: \(detail) (libcurl error \(transfer.code))")
        }
    }

    /// Why the certificate was refused, in plain words.
    private func certificateProblem(_ transfer: CurlEasy.Transfer, host: String) -> String {
        if let words = ServerCertificate.verifyResultWords(transfer.verifyResult) { return words }
        if transfer.errorText.contains("target host name") || transfer.errorText.contains("does not match") {
            return "the certificate is not for the host name \(host)"
        }
        let prefix = "SSL certificate problem: "
        return transfer.errorText.hasPrefix(prefix)
            ? String(transfer.errorText.dropFirst(prefix.count)) : transfer.errorText
    }
}
