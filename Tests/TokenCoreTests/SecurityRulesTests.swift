import Testing
import TokenCore

@Suite("Shared key, timestamp window and the masked number")
struct SecurityRulesTests {
    func request(query: String = "", body: String, method: String = "POST", at now: Int64 = 1_700_000_000)
        -> TokenRequest
    {
        let bytes = Array(body.utf8)
        return TokenRequest(
            method: method, contentType: "application/json", contentLength: bytes.count, body: bytes,
            queryString: query, receivedAt: now)
    }

    func respond(_ request: TokenRequest, configuration: HandlerConfiguration) -> TokenResponse {
        var lookup = DictionaryLookup(tokens: ["+8613800138000": "cust-1"])
        return TokenHandler(configuration: configuration).respond(to: request, lookup: &lookup)
    }

    @Test(
        "the key must be carried exactly",
        arguments: [
            ("key=s3cr%2Bt", 200), ("a=1&key=s3cr%2bt&b=2", 200), ("key=s3cr+t", 403), ("key=s3cr", 403),
            ("key=s3cr%2Btx", 403), ("", 403), ("key=", 403), ("KEY=s3cr%2Bt", 403), ("xkey=s3cr%2Bt", 403),
        ])
    func sharedKey(query: String, status: Int) {
        let configuration = HandlerConfiguration(sharedKey: SharedKey("s3cr+t\n"))
        let response = respond(request(query: query, body: #"{"number":"13800138000"}"#), configuration: configuration)
        #expect(response.status == status)
    }

    @Test("a wrong key is refused before anything else is looked at")
    func keyFirst() {
        let configuration = HandlerConfiguration(sharedKey: SharedKey("k"))
        let response = respond(request(body: "", method: "GET"), configuration: configuration)
        #expect(response.status == 403)
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""error":"forbidden""#))
    }

    @Test("an empty key file is not a key")
    func emptyKey() {
        #expect(SharedKey(" \n") == nil)
    }

    @Test(
        "the timestamp window",
        arguments: [
            (#"{"number":"13800138000","timestamp":1700000000}"#, 200),
            (#"{"number":"13800138000","timestamp":1700000300}"#, 200),
            (#"{"number":"13800138000","timestamp":1699999700}"#, 200),
            (#"{"number":"13800138000","timestamp":1700000301}"#, 403),
            (#"{"number":"13800138000","timestamp":"1699999699"}"#, 403),
            (#"{"number":"13800138000","timestamp":1700000000123}"#, 200),
            (#"{"number":"13800138000","timestamp":-9223372036854775808}"#, 403),
            (#"{"number":"13800138000"}"#, 400),
        ])
    func window(body: String, status: Int) {
        let response = respond(request(body: body), configuration: HandlerConfiguration(maxSkewSeconds: 300))
        #expect(response.status == status)
    }

    @Test("answers carry the masked number for the log, never the full one in the body")
    func maskedInResponse() {
        let response = respond(request(body: #"{"number":"13900001111"}"#), configuration: HandlerConfiguration())
        #expect(response.status == 404)
        #expect(response.maskedNumber == "+86139******11")
    }
}
