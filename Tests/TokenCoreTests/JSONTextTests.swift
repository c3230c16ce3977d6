import Testing
import TokenCore

@Suite("JSON string writing")
struct JSONTextTests {
    func written(_ value: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "x")]
        JSONText.appendString(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(
        "escapes exactly quotes, backslashes and control characters",
        arguments: [
            ("", #"x"""#),
            ("cust-0001", #"x"cust-0001""#),
            (#"a"b"#, #"x"a\"b""#),
            (#"\"#, #"x"\\""#),
            ("line\nnext\r\tend", #"x"line\nnext\r\tend""#),
            ("\u{01}\u{1F}\u{7F}", #"x"\u0001\u001f\u007f""#),
            (#""""#, #"x"\"\"""#),
            ("客户-ü-🙂", "x\"客户-ü-🙂\""),
            ("end\\", #"x"end\\""#),
        ])
    func escapes(value: String, expected: String) {
        #expect(written(value) == expected)
    }

    @Test("appendUTF8 appends the string's bytes after what is there")
    func appendUTF8() {
        var out: [UInt8] = [1, 2]
        out.appendUTF8("")
        out.appendUTF8("ab")
        out.appendUTF8("é🙂")
        #expect(out == [1, 2] + Array("abé🙂".utf8))
    }
}
