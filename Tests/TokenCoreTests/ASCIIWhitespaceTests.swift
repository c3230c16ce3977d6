import Testing
import TokenCore

@Suite("Trimming ASCII whitespace")
struct ASCIIWhitespaceTests {
    @Test(
        "space, tab, CR and LF are trimmed at both ends, nothing inside",
        arguments: [
            ("s3cr+t\n", "s3cr+t"), (" \t key \r\n", "key"), ("a b", "a b"), ("\r\n", ""), ("", ""),
            (" utf-8 ", "utf-8"), (" 转 ", "转"),
            // Other spaces and control characters are text.
            ("\u{3000}x\u{00A0}", "\u{3000}x\u{00A0}"), ("\u{0B}x\u{0C}", "\u{0B}x\u{0C}"),
        ])
    func text(text: String, trimmed: String) {
        #expect(text.trimmingASCIIWhitespace() == trimmed)
        #expect(text[...].trimmingASCIIWhitespace() == trimmed)
        #expect(Array(Array(text.utf8).trimmingASCIIWhitespace()) == Array(trimmed.utf8))
    }

    @Test("JSON's whitespace and no other byte")
    func bytes() {
        let whitespace = (UInt8.min...UInt8.max).filter(\.isASCIIWhitespace)
        #expect(whitespace == [0x09, 0x0A, 0x0D, 0x20])
    }
}
