import Testing
import TokenProbe

@Suite("Parsing answers as a strict JSON client would")
struct JSONValueTests {
    @Test(
        "valid documents",
        arguments: [
            #"{"customer_token":"cust-0001"}"#, #" { "customer_token" : "a\"b\\c\u00e9\ud83d\ude00" } "#, "[]", "{}",
            #"[1,-0,0.5,1e10,-2.5E-3,true,false,null,"",{"a":[]}]"#, "\"text\"", "0", "\n\t{}\r\n",
        ])
    func valid(text: String) {
        #expect((try? JSONValue.parse(Array(text.utf8))) != nil)
    }

    @Test(
        "invalid documents",
        arguments: [
            "", " ", "<html>", "{", #"{"a":1,}"#, "[1,]", #"{"a" 1}"#, "{'a':1}", "01", "1.", "-", ".5", "1e",
            #"{"a":1} x"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00"}"#, "nul", "True", #"{"a":1}{"b":2}"#,
            "\"tab\there\"", "[" + String(repeating: "[", count: 70) + String(repeating: "]", count: 71),
        ])
    func invalid(text: String) {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("invalid UTF-8 in a string and a byte-order mark are errors")
    func bytes() {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) }
    }

    @Test("strings are unescaped and members found by name")
    func members() throws {
        let value = try JSONValue.parse(
            Array(#"{"error":"x","customer_token":"caf\u00e9 \ud83d\ude00","n":12.5}"#.utf8))
        #expect(value.member("customer_token") == .string("café 😀"))
        #expect(value.member("n") == .number("12.5"))
        #expect(value.member("missing") == nil)
        #expect(JSONValue.array([]).member("customer_token") == nil)
    }

    @Test("errors say where")
    func errorOffset() {
        let error = #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(Array("<html>".utf8)) }
        #expect(error?.description == "unexpected '<' where a value was expected at byte 0")
        let late = #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(Array(#"{"a":1,}"#.utf8)) }
        #expect(late?.offset == 7)
    }
}
