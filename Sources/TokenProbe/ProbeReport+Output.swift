import TokenCore

extension ProbeReport {
    /// `probe: POST https://…?key=***, number +86138******00 as a JSON integer and as a string, 5 requests`.
    public var headline: String {
        let encodings = NumberEncoding.encodings(for: run.number)
        let written =
            encodings.count == 2
            ? "as a JSON integer and as a string"
            : "as a JSON string only (Udesk sends an integer only for plain digits)"
        var requests = run.answers.count == 1 ? "1 request" : "\(run.answers.count) requests"
        if run.answers.count < run.requestedCount { requests += " of \(run.requestedCount)" }
        return ProbeURL.maskingSecrets(
            in: "probe: POST \(run.url.masked), number \(run.maskedNumber) \(written), \(requests)")
    }

    /// The report for people: the headline, one `OK`/`WARN`/`FAIL` line per check, the verdict.
    public var text: String {
        var lines = [headline]
        lines += checks.map { ProbeURL.maskingSecrets(in: $0.line) }
        lines.append(ProbeURL.maskingSecrets(in: verdict))
        return lines.joined(separator: "\n")
    }

    /// The report for scripts, one JSON object:
    /// `{"url":"…","number":"+86138******00","requested":5,"sent":5,"answered":5,"accepted":true,
    /// "verdict":"…","token":"cust-0001"|null,"expected":"cust-0001"|null,"checks":[{"level":"ok","check":"status","encodings":["integer","string"],
    /// "message":"status 200"},…],"latency_ms":{"p50":1.2,"p99":3.4,"max":3.4,"first":3.4,
    /// "over_budget":0,"budget":500}|null,"certificate":{"expires":"2027-02-17","days_left":83,
    /// "verification":"system"|"cafile"|"skipped"|"rejected"}|null,"connections":1}`.
    public var json: String {
        let mask = ProbeURL.maskingSecrets(in:)
        func milliseconds(_ microseconds: Int64) -> String {
            let tenths = (microseconds + 50) / 100
            return "\(tenths / 10).\(tenths % 10)"
        }
        var object = JSONObjectWriter()
        object.add("url", mask(run.url.masked))
        object.add("number", mask(run.maskedNumber))
        object.add("requested", run.requestedCount)
        object.add("sent", run.answers.count)
        object.add("answered", run.answers.filter { $0.answer != nil }.count)
        object.add("accepted", accepted)
        object.add("verdict", mask(verdict))
        object.add("token", Self.tokensReceived(run).first)
        object.add("expected", run.expectedToken)
        object.add(
            "checks",
            objects: checks.map { check in
                var entry = JSONObjectWriter()
                entry.add("level", check.level.rawValue)
                entry.add("check", mask(check.name))
                entry.add("encodings", strings: check.encodings.sorted().map(\.rawValue))
                entry.add("message", mask(check.message))
                return entry
            })
        object.add(
            "latency_ms",
            object: latency.map { latency in
                var entry = JSONObjectWriter()
                entry.add("p50", number: milliseconds(latency.p50))
                entry.add("p99", number: milliseconds(latency.p99))
                entry.add("max", number: milliseconds(latency.max))
                entry.add("first", number: milliseconds(latency.first))
                entry.add("over_budget", latency.overBudget)
                entry.add("budget", budgetMilliseconds)
                return entry
            })
        object.add(
            "certificate",
            object: run.certificate.map { certificate in
                var entry = JSONObjectWriter()
                entry.add("expires", certificate.notAfter.map(UTCTimestamp.isoDay))
                if let notAfter = certificate.notAfter {
                    entry.add("days_left", CertificateDate.daysLeft(until: notAfter, now: run.startedAt))
                } else {
                    entry.addNull("days_left")
                }
                let verification: String =
                    switch certificate.verification {
                    case .verifiedBySystemStore: "system"
                    case .verifiedByCAFile: "cafile"
                    case .skipped: "skipped"
                    case .rejected: "rejected"
                    }
                entry.add("verification", verification)
                return entry
            })
        object.add("connections", run.answers.compactMap { $0.answer?.newConnections }.reduce(0, +))
        return object.text
    }
}
