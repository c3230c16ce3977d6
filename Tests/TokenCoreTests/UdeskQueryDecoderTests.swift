import Testing
import TokenCore

@Suite("Decoding Udesk's request body")
struct UdeskQueryDecoderTests {
    let decoder = UdeskQueryDecoder()

    private func decode(_ text: String) throws(RequestError) -> UdeskQuery {
        try decoder.decode(Array(text.utf8))
    }

    @Test(
        "accepted bodies",
        arguments: [
            (#"{"timestamp": 1501124998, "number": 18888888888}"#, "18888888888", Int64(1_501_124_998)),
            (#"{"timestamp":1501124998,"number":"18888888888"}"#, "18888888888", 1_501_124_998),
            (#"{"number":"+86 138-0013-8000"}"#, "+86 138-0013-8000", nil),
            (#"{"number":"13800138000","timestamp":"1501124998"}"#, "13800138000", 1_501_124_998),
            (#"{"number":"13800138000","timestamp":null}"#, "13800138000", nil),
            ("\u{FEFF}{\"number\":\"1\"}", "1", nil),
            (" \r\n\t{ \"number\" : 0 } \n", "0", nil),
            (#"{"number":"\u0031\u0033\u0038","timestamp":-5}"#, "138", -5),
            (
                #"{"extra":{"a":[1,2,{"b":null}],"c":"\ud83d\ude00"},"number":"138","more":[true,false,-1.5e+3]}"#,
                "138", nil
            ),
            (#"{"number":"１３８ 转 12"}"#, "１３８ 转 12", nil),
            (#"{"\u006eumber":"138"}"#, "138", nil),
        ] as [(String, String, Int64?)])
    func accepts(body: String, number: String, timestamp: Int64?) throws {
        let query = try decode(body)
        #expect(query == UdeskQuery(number: number, timestamp: timestamp))
    }

    @Test(
        "malformed JSON is invalid_json",
        arguments: [
            "", "   ", "null", "[]", "\"13800138000\"", "13800138000", "{", "{\"number\"", "{\"number\":}",
            "{\"number\":\"138\"", "{\"number\":\"138\",}", "{number:\"138\"}", "{'number':'138'}",
            "{\"number\":\"138\"} x", "{\"number\":\"138\"}{}", "{\"number\":0138}", "{\"number\":01}",
            "{\"number\":\"1\u{01}38\"}", "{\"number\":\"\\x41\"}", "{\"number\":\"\\ud800\"}",
            "{\"number\":\"\\udc00x\"}", "{\"number\":\"\\u12\"}", "{\"number\":1.}", "{\"number\":-}",
            "{\"number\":1e}", "{\"number\":tru}", "{\"a\":[1,2}", "{\"a\":{\"b\" 1}}", "{\"number\":\"138\" \"x\":1}",
            "{\"number\":NaN}", "{\"number\":Infinity}", "{\"number\":+1}",
            String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
            "{\"a\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + ",\"number\":\"1\"}",
        ])
    func rejectsSyntax(body: String) {
        #expect {
            try decode(body)
        } throws: { error in
            guard case .invalidJSON = error as? RequestError else { return false }
            return true
        }
    }

    @Test(
        "invalid UTF-8 is invalid_json",
        arguments: [
            [0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xC3], [0xE4, 0xB8], [0x80],
        ] as [[UInt8]])
    func rejectsBadUTF8(sequence: [UInt8]) {
        let body = Array(#"{"number":"138"#.utf8) + sequence + Array(#""}"#.utf8)
        #expect {
            try decoder.decode(body)
        } throws: { error in
            guard case .invalidJSON(let reason) = error as? RequestError else { return false }
            return reason == "invalid UTF-8"
        }
    }

    @Test(
        "wrong member types are invalid_field",
        arguments: [
            #"{"number":true}"#, #"{"number":null}"#, #"{"number":1.5}"#, #"{"number":1e10}"#, #"{"number":-138}"#,
            #"{"number":["138"]}"#, #"{"number":{"n":"138"}}"#, #"{"number":"138","timestamp":"abc"}"#,
            #"{"number":"138","timestamp":{}}"#, #"{"number":"138","timestamp":1.5}"#,
            #"{"number":"138","timestamp":99999999999999999999}"#, #"{"number":"138","timestamp":""}"#,
            #"{"number":"138","number":"139"}"#, #"{"number":"138","timestamp":1,"timestamp":2}"#,
        ])
    func rejectsTypes(body: String) {
        #expect {
            try decode(body)
        } throws: { error in
            guard case .invalidField = error as? RequestError else { return false }
            return true
        }
    }

    @Test("a missing number is missing_number", arguments: [#"{}"#, #"{"timestamp":1501124998}"#, #"{"Number":"1"}"#])
    func missingNumber(body: String) {
        #expect(throws: RequestError.missingNumber) { try decode(body) }
    }

    @Test("syntax errors win over field errors")
    func syntaxFirst() {
        #expect {
            try decode(#"{"number":true,"#)
        } throws: { error in
            guard case .invalidJSON = error as? RequestError else { return false }
            return true
        }
    }

    @Test("nesting up to the limit is accepted")
    func nestingLimit() throws {
        let nested = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        let query = try decode(#"{"a":"# + nested + #","number":"1"}"#)
        #expect(query.number == "1")
    }
}
