import Testing
import TokenCore

/// A lookup backed by a dictionary, or failing like a broken store.
struct DictionaryLookup: TokenLookup {
    struct Broken: Error, CustomStringConvertible {
        var description: String { "disk I/O error" }
    }
    var tokens: [String: String]
    var broken = false
    var lookups: [String] = []

    mutating func token(forKey key: String) throws -> String? {
        lookups.append(key)
        if broken { throw Broken() }
        return tokens[key]
    }

    mutating func checkHealth() throws {
        if broken { throw Broken() }
    }
}

@Suite("Answering requests")
struct TokenHandlerTests {
    static let json = "application/json;charset=utf8"

    func post(_ body: String, contentType: String? = json, method: String = "POST") -> TokenRequest {
        let bytes = Array(body.utf8)
        return TokenRequest(method: method, contentType: contentType, contentLength: bytes.count, body: bytes)
    }

    func respond(
        _ request: TokenRequest, tokens: [String: String] = ["+8613800138000": "cust-1"],
        configuration: HandlerConfiguration = HandlerConfiguration(), broken: Bool = false
    ) -> (TokenResponse, DictionaryLookup) {
        var lookup = DictionaryLookup(tokens: tokens, broken: broken)
        let response = TokenHandler(configuration: configuration).respond(to: request, lookup: &lookup)
        return (response, lookup)
    }

    func text(_ response: TokenResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// The headers the response is sent with, in order.
    func headers(_ response: TokenResponse) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        response.forEachHeader { fields.append(($0, $1)) }
        return fields
    }

    @Test("a known number answers 200 with the token and the right headers")
    func success() {
        let (response, lookup) = respond(post(#"{"timestamp": 1501124998, "number": 13800138000}"#))
        #expect(response.status == 200)
        #expect(text(response) == #"{"customer_token":"cust-1"}"#)
        #expect(response.outcome == .found)
        #expect(lookup.lookups == ["+8613800138000"])
        let headers = Dictionary(uniqueKeysWithValues: headers(response).map { ($0.name, $0.value) })
        #expect(headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(headers["Cache-Control"] == "no-store")
        #expect(headers["Content-Length"] == String(response.body.count))
        #expect(headers["Allow"] == nil)
    }

    @Test("the token is escaped as a JSON string")
    func escaping() {
        let (response, _) = respond(
            post(#"{"number":"13800138000"}"#), tokens: ["+8613800138000": "a\"b\\c\u{1}客户"])
        #expect(text(response) == #"{"customer_token":"a\"b\\c\u0001客户"}"#)
    }

    @Test(
        "each error has its status and code",
        arguments: [
            (TokenRequest(method: "GET", contentType: nil, contentLength: nil, body: []), 405, "method_not_allowed"),
            (
                TokenRequest(method: "PUT", contentType: json, contentLength: 2, body: Array("{}".utf8)), 405,
                "method_not_allowed"
            ),
            (
                TokenRequest(method: "POST", contentType: nil, contentLength: 2, body: Array("{}".utf8)), 415,
                "unsupported_media_type"
            ),
            (
                TokenRequest(method: "POST", contentType: "text/plain", contentLength: 2, body: Array("{}".utf8)), 415,
                "unsupported_media_type"
            ),
            (
                TokenRequest(
                    method: "POST", contentType: "application/jsonx", contentLength: 2, body: Array("{}".utf8)), 415,
                "unsupported_media_type"
            ),
            (
                TokenRequest(
                    method: "POST", contentType: "application/x-www-form-urlencoded", contentLength: 2,
                    body: Array("{}".utf8)), 415, "unsupported_media_type"
            ),
            (TokenRequest(method: "POST", contentType: json, contentLength: 5000, body: []), 413, "body_too_large"),
            (
                TokenRequest(
                    method: "POST", contentType: json, contentLength: nil, body: [UInt8](repeating: 0x20, count: 4097)),
                413, "body_too_large"
            ),
            (TokenRequest(method: "POST", contentType: json, contentLength: 0, body: []), 400, "empty_body"),
            (TokenRequest(method: "POST", contentType: json, contentLength: nil, body: []), 400, "empty_body"),
            (
                TokenRequest(method: "POST", contentType: json, contentLength: 3, body: Array("{x}".utf8)), 400,
                "invalid_json"
            ),
            (
                TokenRequest(method: "POST", contentType: json, contentLength: 2, body: Array("{}".utf8)), 400,
                "missing_number"
            ),
            (
                TokenRequest(
                    method: "POST", contentType: json, contentLength: 15, body: Array(#"{"number":true}"#.utf8)), 400,
                "invalid_field"
            ),
            (
                TokenRequest(method: "POST", contentType: json, contentLength: 13, body: Array(#"{"number":""}"#.utf8)),
                422, "invalid_number"
            ),
            (
                TokenRequest(
                    method: "POST", contentType: json, contentLength: 16, body: Array(#"{"number":"abc"}"#.utf8)), 422,
                "invalid_number"
            ),
            (
                TokenRequest(
                    method: "POST", contentType: json, contentLength: 0, body: Array(#"{"number":13900000000}"#.utf8)),
                404, "unknown_number"
            ),
        ] as [(TokenRequest, Int, String)])
    func errors(request: TokenRequest, status: Int, code: String) {
        let (response, _) = respond(request)
        #expect(response.status == status)
        #expect(text(response).hasPrefix(#"{"error":""# + code + #"","message":""#))
        #expect(text(response).hasSuffix(#""}"#))
        if status == 405 {
            #expect(headers(response).contains { $0 == ("Allow", "POST") })
        }
        #expect(response.outcome == (status == 404 ? .unknown : .rejected(code: code)))
    }

    @Test(
        "Content-Type variants Udesk and others send are accepted",
        arguments: [
            "application/json", "application/json;charset=utf8", "application/json; charset=utf-8",
            "Application/JSON; Charset=UTF-8", " application/json ;charset=\"utf-8\"", "application/json;charset=gbk",
        ])
    func contentTypes(contentType: String) {
        #expect(TokenHandler.isJSON(contentType: contentType))
    }

    @Test(
        "other media types are not JSON",
        arguments: [
            "", " ", ";", "application/jso", "application/jsonx", "xapplication/json", "text/json",
            "application/json-patch+json", "application / json", "application/json x", "application/jsön",
        ])
    func notJSON(contentType: String) {
        #expect(!TokenHandler.isJSON(contentType: contentType))
    }

    @Test("error bodies never echo the number")
    func noEcho() {
        for body in [
            #"{"number":"13912345678"}"#, #"{"number":"13912345678abc"}"#, #"{"number":"1391234567800000000000"}"#,
        ] {
            let (response, _) = respond(post(body))
            #expect(response.status >= 400)
            #expect(!text(response).contains("1391234567"))
        }
    }

    @Test("--unknown empty answers 200 with an empty token")
    func unknownEmpty() {
        let (response, _) = respond(
            post(#"{"number":"13900000000"}"#), configuration: HandlerConfiguration(unknownNumbers: .empty))
        #expect(response.status == 200)
        #expect(text(response) == #"{"customer_token":""}"#)
        #expect(response.outcome == .unknown)
    }

    @Test("a broken store is a 500 whose cause is kept for the log only")
    func storeFailure() {
        let (response, _) = respond(post(#"{"number":"13800138000"}"#), broken: true)
        #expect(response.status == 500)
        #expect(text(response).contains("store_unavailable"))
        #expect(!text(response).contains("disk I/O"))
        #expect(response.outcome == .failed(cause: "disk I/O error"))
    }

    @Test("a client error is never looked up, even with a broken store")
    func clientErrorsFirst() {
        let (response, lookup) = respond(post(#"{"number":true}"#), broken: true)
        #expect(response.status == 400)
        #expect(lookup.lookups.isEmpty)
    }

    @Test("a smaller configured body cap is enforced")
    func bodyCap() {
        let (response, _) = respond(
            post(#"{"number":"13800138000","pad":"xxxxxxxxxx"}"#),
            configuration: HandlerConfiguration(maxBodyBytes: 32))
        #expect(response.status == 413)
        #expect(text(response).contains("32 bytes"))
    }
}

/// A lookup whose minting has reached its limit.
struct ExhaustedMinting: TokenLookup {
    func token(forKey key: String) throws -> String? { nil }
    func mintToken(forKey key: String) throws -> String? { nil }
    func checkHealth() throws {}
}

@Suite("Minting limit")
struct MintingLimitTests {
    @Test("past the minting limit an unknown number is answered as not found")
    func exhausted() {
        var configuration = HandlerConfiguration()
        configuration.unknownNumbers = .mint
        let body = Array(#"{"timestamp": 1501124998, "number": 13800138000}"#.utf8)
        let request = TokenRequest(
            method: "POST", contentType: "application/json", contentLength: body.count, body: body)
        var lookup = ExhaustedMinting()
        let response = TokenHandler(configuration: configuration).respond(to: request, lookup: &lookup)
        #expect(response.status == 404)
        #expect(String(decoding: response.body, as: UTF8.self).contains("unknown_number"))
    }
}
