import ArgumentParser
import CommandSupport
import Glibc
import TokenCore
import TokenProbe

extension TokenCtl {
    /// `tokenctl probe URL NUMBER`.
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send Udesk's request to a deployed endpoint and say whether Udesk would accept the answers.",
            discussion: """
                Sends what Udesk sends, --count times over one kept-alive connection: POST URL with \
                Content-Type application/json;charset=utf8 and {"timestamp": <now>, "number": NUMBER}, \
                the number alternately a JSON integer (when it is plain digits) and a JSON string. \
                Then checks, per encoding, that every answer has status 200, a JSON Content-Type and \
                a JSON object body with a string customer_token (an empty one is a warning: Udesk \
                treats it as unknown); that answer times stay within Udesk's 500 ms budget (p50, p99, \
                max); for https, that the certificate verifies and how many days it has left \
                (warning under 14); for http, that Udesk should use https, and any redirect (301/302 \
                turn POST into GET: fail; 307/308 are followed, with a warning).

                The token received is shown (`customer_token received: "…"`); with --expect TOKEN, \
                any other token fails. With --insecure, a certificate that does not verify fails \
                (Udesk would refuse it), and the other checks still run.

                One line per check, OK, WARN or FAIL, then the verdict. Exit status 0 when nothing \
                failed (warnings allowed), 1 when something did, 2 for bad arguments or a local \
                mistake (a --cacert file that holds no certificate). A request with \
                no answer within 2 s counts as failed (DNS, refused, TLS handshake, timeout, said in \
                plain words); the probe stops when the first request, or three in a row, get none. \
                Paste the URL exactly as configured in Udesk, ?key=... included: the key is printed as \
                key=***, and the number with its middle digits hidden.

                With --json: one object with url, number, requested, sent, answered, accepted, \
                verdict, token (the first customer_token received, or null), expected (--expect, or \
                null), checks [{level, check, encodings, message}], latency_ms {p50, p99, max, \
                first, over_budget, budget} or null, certificate {expires, days_left, verification} \
                or null, and connections (new connections opened).

                Examples:
                  URL='https://udesk-token.example.com/udesk/customer_token?key=s3cret'
                  tokenctl probe "$URL" 13800138000
                  tokenctl probe --count 200 "$URL" 13800138000
                  tokenctl probe --cacert private-ca.pem "$URL" 13800138000
                  tokenctl probe --expect cust-0001 "$URL" 13800138000
                  tokenctl probe --json "$URL" 13800138000 | jq .accepted
                """)

        @Argument(help: "The endpoint URL as configured in Udesk, including any ?key= part.")
        var url: String

        @Argument(help: "A phone number the store knows (digits, as Udesk sends it).")
        var number: String

        @Option(help: "How many requests to send (1 to \(ProbeConfiguration.maximumCount)).")
        var count = ProbeConfiguration.defaultCount

        @Option(
            name: .customLong("cacert"),
            help: ArgumentHelp(
                "Verify the certificate against this PEM file instead of the system trust store.", valueName: "file"))
        var caFile: String?

        @Flag(
            help:
                "Do not enforce certificate verification, to check the rest of the endpoint anyway. The certificate is still examined, and one that would not verify fails the probe: Udesk verifies it."
        )
        var insecure = false

        @Option(
            name: .customLong("expect"),
            help: ArgumentHelp(
                "Fail unless every answer carries this customer_token (the token the store holds for NUMBER).",
                valueName: "token"))
        var expectedToken: String?

        @Flag(help: "Print one JSON object instead of lines.")
        var json = false

        @Option(
            help:
                "Country calling code of the number if written without one; it is masked as the responder masks it. (env: TOKEN_COUNTRY_CODE, default: 86)"
        )
        var countryCode: Int?

        func validate() throws {
            do {
                _ = try probeConfiguration()
            } catch {
                // Exit status 2, as the probe's contract says, rather than argument-parser's 64.
                printError("Error: \(error.message)")
                printError("Usage: " + TokenCtl.usageString(for: Probe.self))
                printError("  See 'tokenctl probe --help' for more information.")
                throw ExitCode(2)
            }
        }

        func run() throws {
            let report = ProbeReport(run: CurlProber(configuration: try probeConfiguration()).run())
            print(json ? report.json : report.text)
            if report.localMistake { throw ExitCode(2) }
            if !report.accepted { throw ExitCode(1) }
        }

        private func probeConfiguration() throws(ProbeUsageError) -> ProbeConfiguration {
            var trust = ProbeConfiguration.TrustMode.systemStore
            if let caFile {
                if insecure { throw ProbeUsageError("give --cacert or --insecure, not both") }
                if access(caFile, R_OK) != 0 { throw ProbeUsageError("cannot read the --cacert file \(caFile)") }
                if !Self.holdsPEMCertificate(caFile) {
                    throw ProbeUsageError(
                        "the --cacert file \(caFile) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                }
                trust = .caFile(caFile)
            } else if insecure {
                trust = .insecure
            }
            let normaliser: PhoneNumberNormaliser
            do {
                normaliser = try PhoneNumberNormaliser.fromCommandLine(countryCode: countryCode)
            } catch {
                throw ProbeUsageError(error.message)
            }
            let configuration = ProbeConfiguration(
                url: try ProbeURL(url), number: number, countryCode: normaliser.defaultCountryCode, count: count,
                trust: trust, expectedToken: expectedToken)
            try configuration.validate()
            return configuration
        }

        /// True when the first MiB of the file at `path` has a PEM certificate's first line:
        /// `--cacert /etc/passwd` is a mistake to report as one, not a failed endpoint.
        static func holdsPEMCertificate(_ path: String) -> Bool {
            guard let file = fopen(path, "rb") else { return false }
            defer { fclose(file) }
            var bytes = [UInt8](repeating: 0, count: 1 << 20)
            let count = fread(&bytes, 1, bytes.count, file)
            let text = String(decoding: bytes[0..<count], as: UTF8.self)
            return text.contains("-----BEGIN CERTIFICATE-----") || text.contains("-----BEGIN TRUSTED CERTIFICATE-----")
        }
    }
}
