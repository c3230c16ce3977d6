import TokenCore

extension ProbeReport {
    /// `probe: POST https://…?key=***, number 138****8000 as a JSON integer and as a string, 5 requests`.
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
    /// `{"url":"…","number":"138****8000","requested":5,"sent":5,"answered":5,"accepted":true,
    /// "verdict":"…","checks":[{"level":"ok","check":"status","encodings":["integer","string"],
    /// "message":"status 200"},…],"latency_ms":{"p50":1.2,"p99":3.4,"max":3.4,"first":3.4,
    /// "over_budget":0,"budget":500}|null,"certificate":{"expires":"2027-02-17","days_left":83,
    /// "verification":"system"|"cafile"|"skipped"|"rejected"}|null,"connections":1}`.
    public var json: String {
        var out: [UInt8] = []
        func key(_ name: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func string(_ value: String) { JSONText.appendString(ProbeURL.maskingSecrets(in: value), to: &out) }
        func raw(_ text: String) { out.append(contentsOf: Array(text.utf8)) }
        func milliseconds(_ microseconds: Int64) {
            let tenths = (microseconds + 50) / 100
            raw("\(tenths / 10).\(tenths % 10)")
        }

        raw("{")
        key("url", first: true)
        string(run.url.masked)
        key("number")
        string(run.maskedNumber)
        key("requested")
        raw(String(run.requestedCount))
        key("sent")
        raw(String(run.answers.count))
        key("answered")
        raw(String(run.answers.filter { $0.answer != nil }.count))
        key("accepted")
        raw(accepted ? "true" : "false")
        key("verdict")
        string(verdict)
        key("checks")
        raw("[")
        for (index, check) in checks.enumerated() {
            if index > 0 { raw(",") }
            raw("{")
            key("level", first: true)
            string(check.level.rawValue)
            key("check")
            string(check.name)
            key("encodings")
            raw("[")
            for (i, encoding) in check.encodings.sorted().enumerated() {
                if i > 0 { raw(",") }
                string(encoding.rawValue)
            }
            raw("]")
            key("message")
            string(check.message)
            raw("}")
        }
        raw("]")
        key("latency_ms")
        if let latency {
            raw("{")
            key("p50", first: true)
            milliseconds(latency.p50)
            key("p99")
            milliseconds(latency.p99)
            key("max")
            milliseconds(latency.max)
            key("first")
            milliseconds(latency.first)
            key("over_budget")
            raw(String(latency.overBudget))
            key("budget")
            raw(String(budgetMilliseconds))
            raw("}")
        } else {
            raw("null")
        }
        key("certificate")
        if let certificate = run.certificate {
            raw("{")
            key("expires", first: true)
            if let notAfter = certificate.notAfter { string(CertificateDate.isoDay(notAfter)) } else { raw("null") }
            key("days_left")
            if let notAfter = certificate.notAfter {
                raw(String(CertificateDate.daysLeft(until: notAfter, now: run.startedAt)))
            } else {
                raw("null")
            }
            key("verification")
            switch certificate.verification {
            case .verifiedBySystemStore: string("system")
            case .verifiedByCAFile: string("cafile")
            case .skipped: string("skipped")
            case .rejected: string("rejected")
            }
            raw("}")
        } else {
            raw("null")
        }
        key("connections")
        raw(String(run.answers.compactMap { $0.answer?.newConnections }.reduce(0, +)))
        raw("}")
        return String(decoding: out, as: UTF8.self)
    }
}
