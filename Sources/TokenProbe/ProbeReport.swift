import TokenCore

/// The judgement on a probe run: would Udesk accept this endpoint, and if not, why.
///
/// A pure function of the recorded ``ProbeRun`` (no network, no clock), so every rule is
/// unit-tested with hand-written answers. Checks come out in a fixed order: scheme,
/// certificate, connection failures, redirects, then per encoding of the number the status,
/// Content-Type and body, then token consistency and latency.
public struct ProbeReport: Sendable {
    /// The run judged.
    public let run: ProbeRun
    /// One entry per report line, in order.
    public let checks: [ProbeCheck]
    /// Answer times, nil when nothing answered.
    public let latency: LatencySummary?
    /// Udesk's budget used for the latency check.
    public let budgetMilliseconds: Int

    /// A certificate expiring in fewer days than this gets a warning.
    public static let certificateWarningDays: Int64 = 14

    /// Judges `run` against Udesk's expectations, with an answer-time budget in milliseconds.
    public init(run: ProbeRun, budgetMilliseconds: Int = 500) {
        self.run = run
        self.budgetMilliseconds = budgetMilliseconds
        let times = run.answers.compactMap { $0.answer?.microseconds }
        latency = LatencySummary(times: times, budgetMilliseconds: budgetMilliseconds)
        var checks: [ProbeCheck] = []
        checks += Self.schemeChecks(run)
        checks += Self.certificateChecks(run)
        checks += Self.connectionChecks(run)
        checks += Self.redirectChecks(run)
        checks += Self.answerChecks(run)
        checks += Self.tokenConsistencyChecks(run)
        checks += Self.tokenChecks(run)
        if let latency { checks.append(Self.latencyCheck(latency, budgetMilliseconds: budgetMilliseconds)) }
        self.checks = checks
    }

    /// True when no check failed (warnings allowed): exit status 0.
    public var accepted: Bool { !checks.contains { $0.level == .fail } }

    /// True when the run failed for a mistake on this side (a --cacert file that is not one),
    /// which says nothing about the endpoint: exit status 2, as for bad arguments.
    public var localMistake: Bool {
        run.answers.contains { $0.failure?.kind == .caFile }
    }

    /// `Udesk would accept this endpoint`, or `Udesk would NOT accept this endpoint: <reasons>`.
    public var verdict: String {
        if accepted { return "Udesk would accept this endpoint" }
        var reasons: [String] = []
        for check in checks where check.level == .fail && !reasons.contains(check.summary) {
            reasons.append(check.summary)
        }
        return "Udesk would NOT accept this endpoint: " + reasons.joined(separator: "; ")
    }

    // MARK: - Scheme and certificate

    static func schemeChecks(_ run: ProbeRun) -> [ProbeCheck] {
        guard run.url.scheme == .http else { return [] }
        return [
            ProbeCheck(
                .warn, "scheme",
                "plain http: Udesk should call an https:// URL (the number and the key travel unencrypted)")
        ]
    }

    static func certificateChecks(_ run: ProbeRun) -> [ProbeCheck] {
        guard let certificate = run.certificate else { return [] }
        let now = run.startedAt
        var checks: [ProbeCheck] = []
        let dates = dateAssessment(certificate, now: now)
        switch certificate.verification {
        case .rejected(let reason):
            var hint = ""
            if run.trust == .systemStore && dates?.level != .fail {
                hint =
                    " (for a private CA or a self-signed certificate use --cacert FILE; to check the rest anyway, --insecure)"
            }
            if let dates, dates.level == .fail {
                checks.append(
                    ProbeCheck(.fail, "certificate", "certificate refused: \(dates.text)", summary: dates.summary))
                return checks
            }
            checks.append(
                ProbeCheck(
                    .fail, "certificate", "certificate refused: \(reason)\(hint)", summary: "certificate refused"))
        case .skipped(let problem?):
            // --insecure lets the probe look at the rest; Udesk verifies, and would refuse it.
            checks.append(
                ProbeCheck(
                    .fail, "certificate",
                    "certificate not verified (--insecure): Udesk would refuse it: verification fails: \(problem)",
                    summary: "certificate refused (Udesk verifies it; --insecure only let the probe go on)"))
        case .skipped(nil):
            checks.append(ProbeCheck(.warn, "certificate", "certificate not verified (--insecure)"))
        case .verifiedByCAFile(let path):
            checks.append(
                ProbeCheck(
                    .warn, "certificate",
                    "certificate trusted through --cacert \(path): Udesk checks it against public CAs, not this file"))
        case .verifiedBySystemStore:
            break
        }
        if let dates {
            checks.append(ProbeCheck(dates.level, "certificate", dates.text, summary: dates.summary))
        } else {
            let raw = certificate.expireDateText.map { " (\"\($0)\")" } ?? ""
            checks.append(ProbeCheck(.warn, "certificate", "certificate expiry date unknown\(raw)"))
        }
        return checks
    }

    private static func dateAssessment(_ certificate: ServerCertificate, now: Int64)
        -> (level: ProbeCheck.Level, text: String, summary: String)?
    {
        guard let notAfter = certificate.notAfter else { return nil }
        if let notBefore = certificate.notBefore, notBefore > now {
            return (
                .fail, "certificate not valid until \(UTCTimestamp.isoDay(notBefore)) (check the server's clock)",
                "certificate not yet valid"
            )
        }
        let date = UTCTimestamp.isoDay(notAfter)
        if notAfter <= now {
            let ago = -CertificateDate.daysLeft(until: notAfter, now: now)
            let when = ago == 0 ? "today" : "\(days(ago)) ago"
            return (.fail, "certificate expired on \(date) (\(when))", "certificate expired")
        }
        let left = CertificateDate.daysLeft(until: notAfter, now: now)
        let valid: String
        switch certificate.verification {
        case .verifiedBySystemStore, .verifiedByCAFile: valid = "certificate valid, "
        case .rejected, .skipped: valid = "certificate "
        }
        if left < certificateWarningDays {
            return (.warn, "\(valid)expires in \(days(left)) (\(date)): renew it now", "certificate expires soon")
        }
        return (.ok, "\(valid)expires in \(days(left)) (\(date))", "certificate")
    }

    private static func days(_ count: Int64) -> String {
        count == 1 ? "1 day" : "\(count) days"
    }

    // MARK: - Connection failures and redirects

    static func connectionChecks(_ run: ProbeRun) -> [ProbeCheck] {
        let certificateReported: Bool
        if case .rejected = run.certificate?.verification {
            certificateReported = true
        } else {
            certificateReported = false
        }
        var groups: [(failure: TransportFailure, count: Int)] = []
        for failure in run.answers.compactMap(\.failure) {
            if failure.kind == .certificate && certificateReported { continue }
            if let index = groups.firstIndex(where: { $0.failure == failure }) {
                groups[index].count += 1
            } else {
                groups.append((failure, 1))
            }
        }
        let total = run.answers.count
        return groups.map { group in
            var notes: [String] = []
            if total > 1 {
                notes.append(group.count == total ? "all \(total) requests" : "\(group.count) of \(total) requests")
            }
            if let stop = run.stopReason { notes.append(stop) }
            let suffix = notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"
            return ProbeCheck(
                .fail, "connection", group.failure.message + suffix, summary: failureSummary(group.failure.kind))
        }
    }

    private static func failureSummary(_ kind: TransportFailure.Kind) -> String {
        switch kind {
        case .dns: "DNS lookup failed"
        case .connectionRefused: "connection refused"
        case .unreachable: "host unreachable"
        case .timeout: "timeout"
        case .tlsHandshake: "TLS handshake failed"
        case .certificate: "certificate refused"
        case .connectionClosed: "connection closed without an answer"
        case .notHTTP: "not an HTTP answer"
        case .caFile: "the --cacert file cannot be used"
        case .other: "request failed"
        }
    }

    static func redirectChecks(_ run: ProbeRun) -> [ProbeCheck] {
        var seen: [Redirect] = []
        for redirect in run.answers.compactMap({ $0.answer?.redirects }).joined() where !seen.contains(redirect) {
            seen.append(redirect)
        }
        return seen.map { redirect in
            ProbeCheck(
                .warn, "redirect",
                "redirect \(redirect.status) from \(redirect.from) to \(redirect.to): followed (\(redirect.status) keeps the POST), "
                    + "but Udesk may not follow redirects: configure \(redirect.to) in Udesk")
        }
    }

    // MARK: - Status, Content-Type and body, per encoding

    static func answerChecks(_ run: ProbeRun) -> [ProbeCheck] {
        let encodings = Set(run.answers.map(\.encoding)).sorted()
        var perName: [String: [ProbeCheck]] = [:]
        let names = ["status", "content_type", "body"]
        for encoding in encodings {
            let answers = run.answers.filter { $0.encoding == encoding }.compactMap(\.answer)
            if answers.isEmpty { continue }
            perName["status", default: []] += statusChecks(answers, encoding)
            let ok = answers.filter { $0.status == 200 }
            perName["content_type", default: []] += contentTypeChecks(ok, encoding)
            perName["body", default: []] += bodyChecks(ok, encoding)
        }
        // One line for both encodings when they came to the same finding.
        var checks: [ProbeCheck] = []
        for name in names {
            var merged: [ProbeCheck] = []
            for check in perName[name] ?? [] {
                if let index = merged.firstIndex(where: { $0.level == check.level && $0.message == check.message }) {
                    merged[index].encodings += check.encodings
                } else {
                    merged.append(check)
                }
            }
            checks += merged
        }
        return checks
    }

    /// `` (every answer), ` (2 of 5 answers)`.
    private static func share(_ count: Int, of total: Int) -> String {
        count == total ? "" : " (\(count) of \(total) answers)"
    }

    /// Groups `items` by `key`, keeping first-seen order.
    private static func grouped<Key: Equatable>(_ items: [HTTPAnswer], by key: (HTTPAnswer) -> Key)
        -> [(key: Key, answers: [HTTPAnswer])]
    {
        var groups: [(key: Key, answers: [HTTPAnswer])] = []
        for item in items {
            let k = key(item)
            if let index = groups.firstIndex(where: { $0.key == k }) {
                groups[index].answers.append(item)
            } else {
                groups.append((k, [item]))
            }
        }
        return groups
    }

    static func statusChecks(_ answers: [HTTPAnswer], _ encoding: NumberEncoding) -> [ProbeCheck] {
        let groups = grouped(answers, by: \.status)
        if groups.count == 1 && groups[0].key == 200 {
            return [ProbeCheck(.ok, "status", "status 200", encodings: [encoding])]
        }
        return groups.filter { $0.key != 200 }.map { group in
            let status = group.key
            let sample = group.answers[0]
            let count = share(group.answers.count, of: answers.count)
            switch status {
            case 301, 302, 303:
                return ProbeCheck(
                    .fail, "status",
                    "redirect \(status) to \(sample.location ?? "(no Location header)")\(count): a client following it "
                        + "re-sends the request as a GET without the body; use 308, or configure the final URL in Udesk",
                    summary: "redirect \(status)", encodings: [encoding])
            case 300...399:
                let why = sample.location == nil ? "no Location header" : "too many redirects"
                return ProbeCheck(
                    .fail, "status",
                    "redirect \(status) to \(sample.location ?? "nowhere")\(count): not followed (\(why))",
                    summary: "redirect \(status)", encodings: [encoding])
            default:
                return ProbeCheck(
                    .fail, "status", "status \(status)\(count)\(errorExplanation(status: status, body: sample.body))",
                    summary: "status \(status)", encodings: [encoding])
            }
        }
    }

    /// `: error "unknown_number" (no token for this number): the store has no token…`.
    private static func errorExplanation(status: Int, body: [UInt8]) -> String {
        var code: String?
        var text = ""
        if let value = try? JSONValue.parse(body) {
            if case .string(let error)? = value.member("error") {
                code = error
                text += ": error \"\(printable(error, limit: 60))\""
            }
            if case .string(let message)? = value.member("message") {
                text += " (\(printable(message, limit: 100)))"
            }
        }
        let hint: String? =
            switch (status, code) {
            case (403, "timestamp_out_of_window"?): "the server's clock is off, or its timestamp window is too narrow"
            case (403, _): "the key in the URL is missing or wrong: compare it with the responder's --key-file"
            case (404, "unknown_number"?): "probe with a number the store holds (check with tokenctl get NUMBER)"
            case (404, _): "wrong path? the endpoint is /udesk/customer_token"
            case (405, _): "the server does not take POST at this URL"
            case (413, _): "the server refused a ~50-byte body as too large"
            case (415, _): "the server refused Udesk's Content-Type application/json;charset=utf8"
            case (422, _): "the server does not accept this number as a phone number"
            case (502, _): "nginx cannot reach token-responder: is it running, on the socket nginx expects?"
            case (503, _): "the service is unavailable"
            case (504, _): "token-responder did not answer nginx in time"
            case (500..<600, _): "server error: see the responder's log"
            default: nil
            }
        if let hint { text += ": \(hint)" }
        return text
    }

    static func contentTypeChecks(_ answers: [HTTPAnswer], _ encoding: NumberEncoding) -> [ProbeCheck] {
        grouped(answers, by: \.contentType).map { group in
            let count = share(group.answers.count, of: answers.count)
            guard let contentType = group.key else {
                return ProbeCheck(
                    .fail, "content_type", "no Content-Type header\(count): Udesk expects application/json",
                    summary: "no Content-Type", encodings: [encoding])
            }
            let shown = printable(contentType, limit: 80)
            guard TokenHandler.isJSON(contentType: contentType) else {
                let media = shown.split(separator: ";", maxSplits: 1).first.map(String.init) ?? shown
                return ProbeCheck(
                    .fail, "content_type", "Content-Type \(shown), not application/json\(count)",
                    summary: "Content-Type \(media)", encodings: [encoding])
            }
            if let charset = charset(of: contentType), !["utf-8", "utf8"].contains(charset) {
                return ProbeCheck(
                    .warn, "content_type",
                    "Content-Type \(shown)\(count): Udesk reads the body as UTF-8, not \(charset)",
                    encodings: [encoding])
            }
            return ProbeCheck(.ok, "content_type", "Content-Type \(shown)\(count)", encodings: [encoding])
        }
    }

    /// The lower-cased `charset` parameter of a media type, if any.
    static func charset(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1)
            guard parts.count == 2,
                parts[0].trimmingASCIIWhitespace().lowercased() == "charset"
            else { continue }
            var value = parts[1].trimmingASCIIWhitespace()
            if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value.lowercased()
        }
        return nil
    }

    /// What one 200 body came to.
    enum BodyFinding: Equatable {
        case token(String)
        case emptyToken
        case problem(message: String, summary: String)
    }

    static func bodyFinding(_ answer: HTTPAnswer) -> BodyFinding {
        if answer.bodyTruncated {
            return .problem(
                message: "body longer than \(HTTPAnswer.maximumBodyBytes / 1024) KiB", summary: "body too long")
        }
        if answer.body.isEmpty {
            return .problem(message: "empty body: Udesk expects {\"customer_token\": \"…\"}", summary: "empty body")
        }
        let value: JSONValue
        do {
            // A byte-order mark gets its own warning (bodyChecks); judge what follows it.
            value = try JSONValue.parse(
                Array(answer.body.starts(with: byteOrderMark) ? answer.body.dropFirst(3) : answer.body[...]))
        } catch {
            let preview = printable(String(decoding: answer.body.prefix(40), as: UTF8.self), limit: 40)
            return .problem(
                message: "body is not valid JSON: \(error.description) (it starts \"\(preview)\")",
                summary: "invalid JSON")
        }
        guard case .object(let members) = value else {
            return .problem(
                message: "body is a JSON \(value.typeName), not an object with customer_token",
                summary: "body not a JSON object")
        }
        guard let token = value.member("customer_token") else {
            let names = members.prefix(5).map { printable($0.name, limit: 30) }.joined(separator: ", ")
            let has = members.isEmpty ? "an empty object" : "members: \(names)\(members.count > 5 ? ", …" : "")"
            return .problem(message: "body has no customer_token (\(has))", summary: "no customer_token")
        }
        guard case .string(let text) = token else {
            return .problem(
                message: "customer_token is a JSON \(token.typeName), not a string",
                summary: "customer_token not a string")
        }
        return text.isEmpty ? .emptyToken : .token(text)
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    static func bodyChecks(_ answers: [HTTPAnswer], _ encoding: NumberEncoding) -> [ProbeCheck] {
        var groups: [(check: ProbeCheck, count: Int)] = []
        let marked = answers.filter { $0.body.starts(with: byteOrderMark) }.count
        if marked > 0 {
            let check = ProbeCheck(
                .warn, "body", "body starts with a UTF-8 byte-order mark: some JSON parsers refuse it",
                encodings: [encoding])
            groups.append((check, marked))
        }
        for answer in answers {
            let check: ProbeCheck
            switch bodyFinding(answer) {
            case .token:
                check = ProbeCheck(.ok, "body", "body is JSON with a string customer_token", encodings: [encoding])
            case .emptyToken:
                check = ProbeCheck(.warn, "body", "empty token: Udesk treats it as unknown", encodings: [encoding])
            case .problem(let message, let summary):
                check = ProbeCheck(.fail, "body", message, summary: summary, encodings: [encoding])
            }
            if let index = groups.firstIndex(where: { $0.check == check }) {
                groups[index].count += 1
            } else {
                groups.append((check, 1))
            }
        }
        return groups.map { group in
            var check = group.check
            check.message += share(group.count, of: answers.count)
            return check
        }
    }

    // MARK: - Token consistency and latency

    static func tokenConsistencyChecks(_ run: ProbeRun) -> [ProbeCheck] {
        var byEncoding: [NumberEncoding: [String]] = [:]
        for answer in run.answers {
            guard let http = answer.answer, http.status == 200 else { continue }
            let token: String
            switch bodyFinding(http) {
            case .token(let text): token = text
            case .emptyToken: token = ""
            case .problem: continue
            }
            if !(byEncoding[answer.encoding]?.contains(token) ?? false) {
                byEncoding[answer.encoding, default: []].append(token)
            }
        }
        let all = Set(byEncoding.values.joined())
        if all.count > 1 {
            if byEncoding.count == 2, byEncoding.values.allSatisfy({ $0.count == 1 }) {
                return [
                    ProbeCheck(
                        .fail, "token_consistency",
                        "different customer_token for the number as a JSON integer and as a string: "
                            + "Udesk would see two customers for one caller",
                        summary: "token depends on the number's encoding")
                ]
            }
            return [
                ProbeCheck(
                    .fail, "token_consistency",
                    "customer_token changes between requests (\(all.count) different values): "
                        + "Udesk would see a different customer on each call",
                    summary: "token changes between requests")
            ]
        }
        if byEncoding.count == 2 {
            return [
                ProbeCheck(
                    .ok, "token_consistency", "same customer_token for the number as a JSON integer and as a string")
            ]
        }
        return []
    }

    /// Every `customer_token` received (empty included), in first-seen order.
    static func tokensReceived(_ run: ProbeRun) -> [String] {
        var tokens: [String] = []
        for answer in run.answers {
            guard let http = answer.answer, http.status == 200 else { continue }
            switch bodyFinding(http) {
            case .token(let text) where !tokens.contains(text): tokens.append(text)
            case .emptyToken where !tokens.contains(""): tokens.append("")
            default: continue
            }
        }
        return tokens
    }

    /// The token received, and with `--expect`, whether it is the one expected.
    static func tokenChecks(_ run: ProbeRun) -> [ProbeCheck] {
        let tokens = tokensReceived(run)
        let shown =
            tokens.prefix(3).map { "\"\(printable($0, limit: 80))\"" }.joined(separator: ", ")
            + (tokens.count > 3 ? ", …" : "")
        guard let expected = run.expectedToken else {
            return tokens.isEmpty ? [] : [ProbeCheck(.ok, "token", "customer_token received: \(shown)")]
        }
        let wanted = "\"\(printable(expected, limit: 80))\""
        if tokens.isEmpty {
            return [
                ProbeCheck(
                    .fail, "token", "no customer_token received to compare with the expected \(wanted) (--expect)",
                    summary: "no customer_token")
            ]
        }
        if tokens == [expected] {
            return [ProbeCheck(.ok, "token", "customer_token received: \(shown), as expected (--expect)")]
        }
        return [
            ProbeCheck(
                .fail, "token", "customer_token received: \(shown), expected \(wanted) (--expect)",
                summary: "not the expected customer_token")
        ]
    }

    static func latencyCheck(_ latency: LatencySummary, budgetMilliseconds: Int) -> ProbeCheck {
        let ms = LatencySummary.milliseconds
        let answers = latency.count == 1 ? "1 answer" : "\(latency.count) answers"
        let budget = "Udesk's \(budgetMilliseconds) ms budget"
        let first = latency.count > 1 ? ", first with connection set-up \(ms(latency.first))" : ""
        if latency.p99 > latency.budget {
            return ProbeCheck(
                .fail, "latency",
                "latency p99 \(ms(latency.p99)) exceeds \(budget): \(latency.overBudget) of \(answers) over "
                    + "(p50 \(ms(latency.p50)), max \(ms(latency.max))\(first))",
                summary: "latency p99 \(ms(latency.p99))")
        }
        let figures =
            "latency p50 \(ms(latency.p50)), p99 \(ms(latency.p99)), max \(ms(latency.max))"
            + (first.isEmpty ? "" : " (\(first.dropFirst(2)))")
        if latency.overBudget > 0 {
            return ProbeCheck(.warn, "latency", "\(figures): \(latency.overBudget) of \(answers) over \(budget)")
        }
        return ProbeCheck(.ok, "latency", "\(figures): none of \(answers) over \(budget)")
    }

    // MARK: - Text from the server

    /// `text` safe for one report line: control characters as `?`, at most `limit` characters.
    static func printable(_ text: String, limit: Int) -> String {
        var out = ""
        var count = 0
        for character in text {
            if count == limit {
                out += "…"
                break
            }
            out.append(
                character.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) ? "?" : character)
            count += 1
        }
        return out
    }
}
