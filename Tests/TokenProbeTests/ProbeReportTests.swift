import Testing
import TokenProbe

/// Builders for recorded runs: the report is judged from values, no network.
enum Recorded {
    static let now: Int64 = 1_800_000_000  // 2027-01-15T08:00:00Z
    static let url = try! ProbeURL("https://udesk-token.example.com/udesk/customer_token?key=s3cret")
    static let good = Array(#"{"customer_token":"cust-0001"}"#.utf8)

    static func answer(
        _ status: Int = 200, _ contentType: String? = "application/json; charset=utf-8", _ body: [UInt8] = good,
        ms: Double = 3, encoding: NumberEncoding = .integer, location: String? = nil, redirects: [Redirect] = []
    ) -> ProbeAnswer {
        ProbeAnswer(
            encoding: encoding,
            result: .answered(
                HTTPAnswer(
                    status: status, contentType: contentType, body: body, microseconds: Int64(ms * 1000),
                    redirects: redirects, location: location, newConnections: 0)))
    }

    /// `count` answers alternating integer and string, all from `make`.
    static func alternating(_ count: Int = 4, _ make: (NumberEncoding) -> ProbeAnswer) -> [ProbeAnswer] {
        (0..<count).map { make($0 % 2 == 0 ? .integer : .string) }
    }

    static func certificate(daysLeft: Double, verification: ServerCertificate.Verification = .verifiedBySystemStore)
        -> ServerCertificate
    {
        ServerCertificate(
            notBefore: now - 60 * 86_400, notAfter: now + Int64(daysLeft * 86_400), verification: verification)
    }

    static func report(
        _ answers: [ProbeAnswer], url: ProbeURL = url, certificate: ServerCertificate? = certificate(daysLeft: 83),
        trust: ProbeConfiguration.TrustMode = .systemStore, stopReason: String? = nil
    ) -> ProbeReport {
        ProbeReport(
            run: ProbeRun(
                url: url, number: "13800138000", requestedCount: answers.count, trust: trust, answers: answers,
                certificate: certificate, startedAt: now, stopReason: stopReason))
    }
}

extension ProbeReport {
    func lines(_ name: String) -> [String] { checks.filter { $0.name == name }.map(\.line) }
    func levels(_ name: String) -> [ProbeCheck.Level] { checks.filter { $0.name == name }.map(\.level) }
}

@Suite("Judging recorded answers")
struct ProbeReportTests {
    @Test("a healthy endpoint: every line OK and the verdict says so")
    func healthy() {
        let report = Recorded.report(Recorded.alternating { Recorded.answer(encoding: $0) })
        #expect(report.accepted)
        #expect(
            report.text.split(separator: "\n").map(String.init) == [
                "probe: POST https://udesk-token.example.com/udesk/customer_token?key=***, number +86138******00 as a JSON integer and as a string, 4 requests",
                "OK   certificate valid, expires in 83 days (2027-04-08)",
                "OK   status 200 [number as a JSON integer and as a string]",
                "OK   Content-Type application/json; charset=utf-8 [number as a JSON integer and as a string]",
                "OK   body is JSON with a string customer_token [number as a JSON integer and as a string]",
                "OK   same customer_token for the number as a JSON integer and as a string",
                #"OK   customer_token received: "cust-0001""#,
                "OK   latency p50 3.0 ms, p99 3.0 ms, max 3.0 ms (first with connection set-up 3.0 ms): none of 4 answers over Udesk's 500 ms budget",
                "Udesk would accept this endpoint",
            ])
    }

    // MARK: Status

    @Test(
        "statuses other than 200 fail, with what the server said",
        arguments: [
            (
                404, #"{"error":"unknown_number","message":"no customer"}"#,
                #"status 404: error "unknown_number" (no customer): probe with a number the store holds"#
            ),
            (
                403, #"{"error":"forbidden","message":"bad key"}"#,
                #"status 403: error "forbidden" (bad key): the key in the URL is missing or wrong"#
            ),
            (502, "<html>Bad Gateway</html>", "status 502: nginx cannot reach token-responder"),
            (500, "", "status 500: server error"),
            (415, "{}", "status 415: the server refused Udesk's Content-Type"),
            (201, "{}", "status 201"),
        ])
    func failingStatus(status: Int, body: String, message: String) {
        let report = Recorded.report([Recorded.answer(status, "application/json", Array(body.utf8))])
        #expect(!report.accepted)
        #expect(report.levels("status") == [.fail])
        #expect(report.lines("status").first?.hasPrefix("FAIL " + message) == true, "\(report.lines("status"))")
        #expect(report.verdict == "Udesk would NOT accept this endpoint: status \(status)")
        // Content-Type and body are judged on 200 answers only.
        #expect(report.lines("content_type").isEmpty && report.lines("body").isEmpty)
    }

    @Test("301, 302 and 303 fail: a client following them turns the POST into a GET", arguments: [301, 302, 303])
    func postToGetRedirects(status: Int) {
        let report = Recorded.report([
            Recorded.answer(status, nil, [], location: "https://other.example.com/udesk/customer_token?key=***")
        ])
        #expect(report.levels("status") == [.fail])
        #expect(
            report.lines("status")[0].hasPrefix(
                "FAIL redirect \(status) to https://other.example.com/udesk/customer_token?key=***: a client following it re-sends the request as a GET"
            ))
        #expect(report.verdict == "Udesk would NOT accept this endpoint: redirect \(status)")
    }

    @Test("a followed 307/308 is a warning; the answer behind it is judged", arguments: [307, 308])
    func followedRedirect(status: Int) throws {
        let http = try ProbeURL("http://udesk-token.example.com/udesk/customer_token")
        let hop = Redirect(
            status: status, from: "http://udesk-token.example.com/udesk/customer_token",
            to: "https://udesk-token.example.com/udesk/customer_token")
        let report = Recorded.report(
            Recorded.alternating { Recorded.answer(encoding: $0, redirects: [hop]) }, url: http)
        #expect(report.accepted)
        #expect(report.levels("scheme") == [.warn])
        #expect(
            report.lines("scheme") == [
                "WARN plain http: Udesk should call an https:// URL (the number and the key travel unencrypted)"
            ])
        #expect(report.levels("redirect") == [.warn])
        #expect(report.lines("redirect")[0].contains("Udesk may not follow redirects"))
        #expect(report.levels("status") == [.ok])
    }

    @Test("encodings are reported separately when they differ")
    func perEncoding() {
        let report = Recorded.report(
            Recorded.alternating { encoding in
                encoding == .integer
                    ? Recorded.answer(encoding: encoding)
                    : Recorded.answer(
                        422, "application/json", Array(#"{"error":"invalid_number"}"#.utf8), encoding: encoding)
            })
        #expect(
            report.lines("status") == [
                "OK   status 200 [number as a JSON integer]",
                #"FAIL status 422: error "invalid_number": the server does not accept this number as a phone number [number as a JSON string]"#,
            ])
        #expect(!report.accepted)
    }

    @Test("a status seen on some answers only says how many")
    func mixedStatuses() {
        let answers = [
            Recorded.answer(), Recorded.answer(), Recorded.answer(504, "application/json", Array("{}".utf8)),
        ]
        let report = Recorded.report(answers)
        #expect(
            report.lines("status") == [
                "FAIL status 504 (1 of 3 answers): token-responder did not answer nginx in time [number as a JSON integer]"
            ])
    }

    // MARK: Content-Type

    @Test(
        "Content-Type",
        arguments: [
            ("application/json", ProbeCheck.Level.ok),
            ("application/json; charset=utf-8", .ok),
            ("Application/JSON;charset=UTF8", .ok),
            ("application/json; charset=\"utf-8\"", .ok),
            ("application/json; charset=gbk", .warn),
            ("text/html", .fail),
            ("text/plain; charset=utf-8", .fail),
            ("application/jsonp", .fail),
            ("application/problem+json", .fail),
            (nil, .fail),
        ] as [(String?, ProbeCheck.Level)])
    func contentType(value: String?, level: ProbeCheck.Level) {
        let report = Recorded.report([Recorded.answer(200, value)])
        #expect(report.levels("content_type") == [level])
        #expect(report.accepted == (level != .fail))
    }

    @Test("a wrong Content-Type names the media type in the verdict")
    func contentTypeVerdict() {
        let report = Recorded.report([Recorded.answer(200, "text/html; charset=utf-8")])
        #expect(
            report.lines("content_type") == [
                "FAIL Content-Type text/html; charset=utf-8, not application/json [number as a JSON integer]"
            ])
        #expect(report.verdict == "Udesk would NOT accept this endpoint: Content-Type text/html")
    }

    // MARK: Body

    @Test(
        "bodies",
        arguments: [
            (#"{"customer_token":"cust-0001"}"#, ProbeCheck.Level.ok, "body is JSON with a string customer_token"),
            (#"{"customer_token":"cust-0001","extra":[1,2]}"#, .ok, "body is JSON with a string customer_token"),
            (#"{"customer_token":""}"#, .warn, "empty token: Udesk treats it as unknown"),
            (
                #"{"customer_token":"x",}"#, .fail,
                "body is not valid JSON: unexpected '}' where a member name in quotes was expected at byte 22"
            ),
            ("<html><body>It works!</body></html>", .fail, "body is not valid JSON: unexpected '<'"),
            ("", .fail, "empty body"),
            (
                #"{"customer_token":"x"} trailing"#, .fail,
                "body is not valid JSON: unexpected text after the JSON value"
            ),
            (#"["cust-0001"]"#, .fail, "body is a JSON array, not an object with customer_token"),
            (#""cust-0001""#, .fail, "body is a JSON string, not an object with customer_token"),
            ("{}", .fail, "body has no customer_token (an empty object)"),
            (#"{"token":"x","error":"y"}"#, .fail, "body has no customer_token (members: token, error)"),
            (#"{"customer_token":1001}"#, .fail, "customer_token is a JSON number, not a string"),
            (#"{"customer_token":null}"#, .fail, "customer_token is a JSON null, not a string"),
            (#"{"customer_token":{"id":"x"}}"#, .fail, "customer_token is a JSON object, not a string"),
        ])
    func body(text: String, level: ProbeCheck.Level, message: String) {
        let report = Recorded.report([Recorded.answer(200, "application/json", Array(text.utf8))])
        #expect(report.levels("body") == [level])
        #expect(report.lines("body").first?.hasPrefix(level.tag + " " + message) == true, "\(report.lines("body"))")
        #expect(report.accepted == (level != .fail))
    }

    @Test("a byte-order mark is a warning; the JSON after it is judged")
    func byteOrderMark() {
        let report = Recorded.report([Recorded.answer(200, "application/json", [0xEF, 0xBB, 0xBF] + Recorded.good)])
        #expect(report.levels("body") == [.warn, .ok])
        #expect(report.accepted)
    }

    @Test("a body cut at the size limit fails")
    func truncated() {
        let answer = ProbeAnswer(
            encoding: .integer,
            result: .answered(
                HTTPAnswer(
                    status: 200, contentType: "application/json", body: Recorded.good, bodyTruncated: true,
                    microseconds: 1000)))
        #expect(Recorded.report([answer]).levels("body") == [.fail])
    }

    @Test("the same number must give the same token in both encodings and on every call")
    func tokenConsistency() {
        let byEncoding = Recorded.report(
            Recorded.alternating {
                Recorded.answer(
                    200, "application/json", Array(#"{"customer_token":"\#($0.rawValue)"}"#.utf8), encoding: $0)
            })
        #expect(byEncoding.levels("token_consistency") == [.fail])
        #expect(byEncoding.verdict == "Udesk would NOT accept this endpoint: token depends on the number's encoding")

        var counter = 0
        let changing = Recorded.report(
            Recorded.alternating { encoding in
                counter += 1
                return Recorded.answer(
                    200, "application/json", Array(#"{"customer_token":"t\#(counter)"}"#.utf8), encoding: encoding)
            })
        #expect(
            changing.lines("token_consistency") == [
                "FAIL customer_token changes between requests (4 different values): Udesk would see a different customer on each call"
            ])
    }

    // MARK: Latency

    @Test(
        "nearest-rank percentiles",
        arguments: [
            ([5], 5, 5), ([1, 2, 3, 4, 5], 3, 5), ([4, 1, 3, 2], 2, 4), (Array(1...100), 50, 99),
            (Array(1...1000), 500, 990),
            (Array(1...200), 100, 198),
        ] as [([Int64], Int64, Int64)])
    func percentiles(values: [Int64], p50: Int64, p99: Int64) throws {
        let summary = try #require(LatencySummary(times: values, budgetMilliseconds: 500))
        #expect(summary.p50 == p50)
        #expect(summary.p99 == p99)
        #expect(summary.max == values.max())
        #expect(summary.first == values[0])
    }

    @Test("latency against the 500 ms budget")
    func latencyLevels() {
        let fast = Recorded.report((1...5).map { Recorded.answer(ms: Double($0)) })
        #expect(
            fast.lines("latency") == [
                "OK   latency p50 3.0 ms, p99 5.0 ms, max 5.0 ms (first with connection set-up 1.0 ms): none of 5 answers over Udesk's 500 ms budget"
            ])

        // One slow answer in 200: p99 stays within budget, so a warning.
        let oneSlow = Recorded.report((0..<200).map { Recorded.answer(ms: $0 == 7 ? 612 : 20) })
        #expect(oneSlow.levels("latency") == [.warn])
        #expect(oneSlow.lines("latency")[0].hasSuffix("1 of 200 answers over Udesk's 500 ms budget"))
        #expect(oneSlow.accepted)

        let slow = Recorded.report([605, 612, 598, 640, 601].map { Recorded.answer(ms: $0) })
        #expect(
            slow.lines("latency") == [
                "FAIL latency p99 640 ms exceeds Udesk's 500 ms budget: 5 of 5 answers over (p50 605 ms, max 640 ms, first with connection set-up 605 ms)"
            ])
        #expect(slow.verdict == "Udesk would NOT accept this endpoint: latency p99 640 ms")
    }

    @Test("milliseconds are shown whole from 10 ms, in tenths below")
    func milliseconds() {
        #expect(LatencySummary.milliseconds(840) == "0.8 ms")
        #expect(LatencySummary.milliseconds(3_449) == "3.4 ms")
        #expect(LatencySummary.milliseconds(9_960) == "10 ms")
        #expect(LatencySummary.milliseconds(612_400) == "612 ms")
    }

    // MARK: Certificate

    @Test(
        "days to expiry",
        arguments: [
            (83.2, ProbeCheck.Level.ok, "OK   certificate valid, expires in 83 days (2027-04-08)"),
            (14.0, .ok, "OK   certificate valid, expires in 14 days (2027-01-29)"),
            (13.9, .warn, "WARN certificate valid, expires in 13 days (2027-01-29): renew it now"),
            (1.5, .warn, "WARN certificate valid, expires in 1 day (2027-01-16): renew it now"),
            (0.25, .warn, "WARN certificate valid, expires in 0 days (2027-01-15): renew it now"),
            (-0.01, .fail, "FAIL certificate expired on 2027-01-15 (today)"),
            (-3.5, .fail, "FAIL certificate expired on 2027-01-11 (3 days ago)"),
        ])
    func expiry(days: Double, level: ProbeCheck.Level, line: String) {
        let report = Recorded.report([Recorded.answer()], certificate: Recorded.certificate(daysLeft: days))
        #expect(report.lines("certificate") == [line])
        #expect(report.accepted == (level != .fail))
    }

    @Test("a certificate not valid yet fails")
    func notYetValid() {
        let certificate = ServerCertificate(
            notBefore: Recorded.now + 86_400, notAfter: Recorded.now + 90 * 86_400, verification: .verifiedBySystemStore
        )
        let report = Recorded.report([Recorded.answer()], certificate: certificate)
        #expect(
            report.lines("certificate") == ["FAIL certificate not valid until 2027-01-16 (check the server's clock)"])
    }

    @Test("a refused certificate fails, with the expiry when that is the reason")
    func refused() {
        let selfSigned = Recorded.report(
            [
                ProbeAnswer(
                    encoding: .integer,
                    result: .failed(TransportFailure(kind: .certificate, message: "self-signed certificate")))
            ],
            certificate: Recorded.certificate(daysLeft: 30, verification: .rejected(reason: "self-signed certificate")),
            stopReason: "probe stopped: the certificate was refused")
        #expect(
            selfSigned.lines("certificate") == [
                "FAIL certificate refused: self-signed certificate (for a private CA or a self-signed certificate use --cacert FILE; to check the rest anyway, --insecure)",
                "OK   certificate expires in 30 days (2027-02-14)",
            ])
        #expect(selfSigned.lines("connection").isEmpty, "the refusal is reported once, as a certificate line")
        #expect(selfSigned.verdict == "Udesk would NOT accept this endpoint: certificate refused")

        let expired = Recorded.report(
            [
                ProbeAnswer(
                    encoding: .integer,
                    result: .failed(TransportFailure(kind: .certificate, message: "the certificate has expired")))
            ],
            certificate: Recorded.certificate(
                daysLeft: -10, verification: .rejected(reason: "the certificate has expired")))
        #expect(
            expired.lines("certificate") == [
                "FAIL certificate refused: certificate expired on 2027-01-05 (10 days ago)"
            ])
        #expect(expired.verdict == "Udesk would NOT accept this endpoint: certificate expired")
    }

    @Test("--insecure: a certificate that would not verify fails, since Udesk verifies it; --cacert is a warning")
    func trustModes() {
        let insecure = Recorded.report(
            [Recorded.answer()],
            certificate: Recorded.certificate(daysLeft: 40, verification: .skipped(problem: "self-signed certificate")),
            trust: .insecure)
        #expect(
            insecure.lines("certificate") == [
                "FAIL certificate not verified (--insecure): Udesk would refuse it: verification fails: self-signed certificate",
                "OK   certificate expires in 40 days (2027-02-24)",
            ])
        #expect(!insecure.accepted)
        #expect(
            insecure.verdict
                == "Udesk would NOT accept this endpoint: certificate refused (Udesk verifies it; --insecure only let the probe go on)"
        )
        #expect(insecure.levels("status") == [.ok], "the rest is still checked")

        let verifiable = Recorded.report(
            [Recorded.answer()], certificate: Recorded.certificate(daysLeft: 40, verification: .skipped(problem: nil)),
            trust: .insecure)
        #expect(verifiable.lines("certificate")[0] == "WARN certificate not verified (--insecure)")
        #expect(verifiable.accepted)

        let caFile = Recorded.report(
            [Recorded.answer()],
            certificate: Recorded.certificate(daysLeft: 40, verification: .verifiedByCAFile("ca.pem")),
            trust: .caFile("ca.pem"))
        #expect(caFile.levels("certificate") == [.warn, .ok])
        #expect(caFile.lines("certificate")[0].hasPrefix("WARN certificate trusted through --cacert ca.pem"))
    }

    // MARK: Connection failures

    @Test("a failure before any answer is said in plain words, with why the probe stopped")
    func connectionFailure() throws {
        let url = try ProbeURL("http://127.0.0.1:9/udesk/customer_token")
        let refused = TransportFailure(
            kind: .connectionRefused, message: "connection refused: nothing listens on 127.0.0.1 port 9")
        let report = Recorded.report(
            [ProbeAnswer(encoding: .integer, result: .failed(refused))], url: url, certificate: nil,
            stopReason: "probe stopped after the first request")
        #expect(
            report.text.split(separator: "\n").map(String.init) == [
                "probe: POST http://127.0.0.1:9/udesk/customer_token, number +86138******00 as a JSON integer and as a string, 1 request",
                "WARN plain http: Udesk should call an https:// URL (the number and the key travel unencrypted)",
                "FAIL connection refused: nothing listens on 127.0.0.1 port 9 (probe stopped after the first request)",
                "Udesk would NOT accept this endpoint: connection refused",
            ])
        #expect(report.latency == nil)
    }

    @Test("failures among answers are counted")
    func someTimeouts() {
        let timeout = TransportFailure(
            kind: .timeout, message: "timeout: no answer within 2000 ms (Udesk gives up after 500 ms)")
        let answers = [Recorded.answer(), ProbeAnswer(encoding: .string, result: .failed(timeout)), Recorded.answer()]
        let report = Recorded.report(answers)
        #expect(
            report.lines("connection") == [
                "FAIL timeout: no answer within 2000 ms (Udesk gives up after 500 ms) (1 of 3 requests)"
            ])
        #expect(report.verdict == "Udesk would NOT accept this endpoint: timeout")
        #expect(report.latency?.count == 2)
    }

    @Test("every failing check is a reason in the verdict, once")
    func verdictReasons() {
        let html = Recorded.answer(200, "text/html", Array("<html></html>".utf8), ms: 700)
        let report = Recorded.report([html, html])
        #expect(
            report.verdict
                == "Udesk would NOT accept this endpoint: Content-Type text/html; invalid JSON; latency p99 700 ms")
    }

    // MARK: Secrets

    @Test("the key and the full number never appear in the text or JSON output")
    func masking() throws {
        let url = try ProbeURL("https://ops:pa55@h.example.com/udesk/customer_token?a=1&key=s3cret&b=2")
        let answers = [
            Recorded.answer(302, nil, [], location: ProbeURL.maskingSecrets(in: "https://x.example.com/?key=s3cret")),
            Recorded.answer(
                403, "application/json", Array(#"{"error":"forbidden","message":"see https://h/?key=s3cret"}"#.utf8)),
        ]
        let report = Recorded.report(answers, url: url)
        for output in [report.text, report.json] {
            #expect(!output.contains("s3cret"))
            #expect(!output.contains("pa55"))
            #expect(!output.contains("13800138000"))
            #expect(output.contains("key=***"))
            #expect(output.contains("+86138******00"))
        }
    }

    @Test("JSON output carries the verdict, the checks and the figures")
    func json() {
        let report = Recorded.report(Recorded.alternating { Recorded.answer(encoding: $0) })
        #expect(
            report.json.hasPrefix(
                #"{"url":"https://udesk-token.example.com/udesk/customer_token?key=***","number":"+86138******00","requested":4,"sent":4,"answered":4,"accepted":true,"verdict":"Udesk would accept this endpoint","token":"cust-0001","expected":null,"checks":[{"level":"ok","check":"certificate","encodings":[],"message":"certificate valid, expires in 83 days (2027-04-08)"},{"level":"ok","check":"status","encodings":["integer","string"],"message":"status 200"}"#
            ))
        #expect(
            report.json.hasSuffix(
                #""latency_ms":{"p50":3.0,"p99":3.0,"max":3.0,"first":3.0,"over_budget":0,"budget":500},"certificate":{"expires":"2027-04-08","days_left":83,"verification":"system"},"connections":0}"#
            ))
    }

    @Test("--expect: the token received must be the one given")
    func expectedToken() {
        func report(expecting token: String?, body: String) -> ProbeReport {
            var run = Recorded.report([Recorded.answer(200, "application/json; charset=utf-8", Array(body.utf8))]).run
            run.expectedToken = token
            return ProbeReport(run: run)
        }
        let right = report(expecting: "cust-0001", body: #"{"customer_token":"cust-0001"}"#)
        #expect(right.lines("token") == [#"OK   customer_token received: "cust-0001", as expected (--expect)"#])
        #expect(right.accepted)
        let wrong = report(expecting: "cust-0002", body: #"{"customer_token":"cust-0001"}"#)
        #expect(
            wrong.lines("token") == [#"FAIL customer_token received: "cust-0001", expected "cust-0002" (--expect)"#])
        #expect(wrong.verdict == "Udesk would NOT accept this endpoint: not the expected customer_token")
        #expect(wrong.json.contains(#""token":"cust-0001","expected":"cust-0002""#))
        let none = report(expecting: "cust-0001", body: #"{"error":"unknown_number"}"#)
        #expect(none.levels("token") == [.fail])
        let empty = report(expecting: nil, body: #"{"customer_token":""}"#)
        #expect(empty.lines("token") == [#"OK   customer_token received: """#])
    }
}
