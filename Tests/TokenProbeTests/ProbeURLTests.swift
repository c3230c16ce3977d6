import Testing
import TokenProbe

@Suite("The probed URL: parsing and masking secrets")
struct ProbeURLTests {
    @Test(
        "URLs Udesk can call",
        arguments: [
            (
                "https://udesk-token.example.com/udesk/customer_token?key=abc", ProbeURL.Scheme.https,
                "udesk-token.example.com", 443
            ),
            ("http://127.0.0.1:8080/udesk/customer_token", .http, "127.0.0.1", 8080),
            ("HTTPS://host", .https, "host", 443),
            ("https://user:pw@host:8443?key=x", .https, "host", 8443),
            ("https://[::1]:9443/x", .https, "::1", 9443),
            ("http://[2001:db8::1]/x", .http, "2001:db8::1", 80),
        ] as [(String, ProbeURL.Scheme, String, Int)])
    func parses(text: String, scheme: ProbeURL.Scheme, host: String, port: Int) throws {
        let url = try ProbeURL(text)
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.text == text)
    }

    @Test(
        "usage errors",
        arguments: [
            "", "udesk-token.example.com/udesk/customer_token", "ftp://host/x", "https:///path", "https://host:0/",
            "https://host:65536/", "https://host:/", "https://host:80a/", "https://[::1/x", "https://host/a b",
        ])
    func rejects(text: String) {
        #expect(throws: ProbeUsageError.self) { try ProbeURL(text) }
    }

    @Test(
        "key values and passwords are masked",
        arguments: [
            ("https://h/udesk/customer_token?key=s3cret", "https://h/udesk/customer_token?key=***"),
            ("https://h/p?a=1&key=s3cret&b=2", "https://h/p?a=1&key=***&b=2"),
            ("https://h/p?key=s3cret#frag", "https://h/p?key=***#frag"),
            ("https://h/p?key=", "https://h/p?key="),
            ("https://h/p?xkey=visible&monkey=visible", "https://h/p?xkey=visible&monkey=visible"),
            ("https://ops:pa55@h/p", "https://ops:***@h/p"),
            ("https://ops@h/p", "https://ops@h/p"),
            ("redirect to https://h/p?key=abc: more words", "redirect to https://h/p?key=***: more words"),
            ("two: http://a/?key=1 and https://b/?c=2&key=2", "two: http://a/?key=*** and https://b/?c=2&key=***"),
        ])
    func masks(text: String, masked: String) {
        #expect(ProbeURL.maskingSecrets(in: text) == masked)
        // Masking what is already masked changes nothing.
        #expect(ProbeURL.maskingSecrets(in: masked) == masked)
    }

    @Test("masked is the URL with its key hidden")
    func maskedProperty() throws {
        let url = try ProbeURL("https://h/udesk/customer_token?key=s3cret&x=1")
        #expect(url.masked == "https://h/udesk/customer_token?key=***&x=1")
        #expect(!url.masked.contains("s3cret"))
    }
}
