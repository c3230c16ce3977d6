import Testing
import TokenCore

@Suite("The JSON scanner under the request decoder and the probe")
struct JSONScannerTests {
    /// Runs `body` on a scanner over `text`.
    private func scan<T>(
        _ text: [UInt8], _ body: (inout JSONScanner) throws(JSONScanError) -> T
    ) -> Result<T, JSONScanError> {
        text.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(bytes: buffer)
            do throws(JSONScanError) {
                return .success(try body(&scanner))
            } catch {
                return .failure(error)
            }
        }
    }

    private func string(_ text: String) -> Result<[UInt8], JSONScanError> {
        scan(Array(text.utf8)) { (scanner: inout JSONScanner) throws(JSONScanError) in
            var out: [UInt8] = []
            try scanner.scanString(into: &out)
            return out
        }
    }

    @Test(
        "strings decode escapes and surrogate pairs",
        arguments: [
            (#""plain""#, "plain"), (#""a\"b\\c\/d""#, "a\"b\\c/d"), (#""\b\f\n\r\t""#, "\u{08}\u{0C}\n\r\t"),
            (#""caf\u00e9 \u4E2D""#, "café 中"), (#""\ud83d\ude00""#, "😀"), ("\"中😀\"", "中😀"),
            (#""\u0000""#, "\u{0}"),
        ])
    func strings(text: String, decoded: String) {
        #expect(string(text) == .success(Array(decoded.utf8)))
    }

    @Test(
        "string errors say what and where",
        arguments: [
            (#""abc"#, JSONScanError.Kind.unterminatedString, 4), (#""abc\"#, .unterminatedString, 5),
            ("\"a\u{01}\"", .controlCharacter, 2), (#""a\x""#, .invalidEscape, 3),
            (#""\u12zz""#, .invalidUnicodeEscape, 5), (#""\u12""#, .truncatedUnicodeEscape, 3),
            (#""\udc00""#, .loneSurrogate, 7), (#""\ud800x""#, .loneSurrogate, 7),
            (#""\ud800\u0041""#, .loneSurrogate, 13), (#""\ud800\u12""#, .loneSurrogate, 7),
        ])
    func stringErrors(text: String, kind: JSONScanError.Kind, offset: Int) {
        #expect(string(text) == .failure(JSONScanError(kind, at: offset)))
    }

    @Test(
        "invalid UTF-8 is found at its first byte",
        arguments: [[0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]]
            as [[UInt8]])
    func utf8(sequence: [UInt8]) {
        let text = [UInt8(ascii: "\""), UInt8(ascii: "a")] + sequence + [UInt8(ascii: "\"")]
        let result = scan(text) { (scanner: inout JSONScanner) throws(JSONScanError) in try scanner.skipString() }
        #expect(result.failure == JSONScanError(.invalidUTF8, at: 2))
    }

    @Test(
        "numbers follow the grammar and say whether they are plain integers",
        arguments: [
            ("0", 1, true, false), ("-0", 2, true, true), ("1501124998", 10, true, false), ("-12.5e+3", 8, false, true),
            ("1E9", 3, false, false), ("01", 1, true, false), ("12,", 2, true, false),
        ])
    func numbers(text: String, length: Int, integer: Bool, negative: Bool) {
        let result = scan(Array(text.utf8)) { (scanner: inout JSONScanner) throws(JSONScanError) in
            try scanner.scanNumber()
        }
        #expect(result == .success(JSONNumberToken(range: 0..<length, isInteger: integer, isNegative: negative)))
    }

    @Test(
        "number errors are where the digit is missing",
        arguments: [
            ("-", JSONScanError.Kind.expectedDigit, 1), ("-x", .expectedDigit, 1), ("1.", .expectedFractionDigit, 2),
            ("1.e5", .expectedFractionDigit, 2), ("1e", .expectedExponentDigit, 2), ("1e+", .expectedExponentDigit, 3),
        ])
    func numberErrors(text: String, kind: JSONScanError.Kind, offset: Int) {
        let result = scan(Array(text.utf8)) { (scanner: inout JSONScanner) throws(JSONScanError) in
            try scanner.scanNumber()
        }
        #expect(result == .failure(JSONScanError(kind, at: offset)))
    }

    @Test("literals and whitespace")
    func literals() {
        let text = Array(" \t\r\n true nul".utf8)
        let result = scan(text) { (scanner: inout JSONScanner) throws(JSONScanError) -> Int in
            scanner.skipWhitespace()
            try scanner.skipLiteral("true")
            scanner.skipWhitespace()
            return scanner.index
        }
        #expect(result == .success(10))
        let truncated = scan(text) { (scanner: inout JSONScanner) throws(JSONScanError) in
            scanner.index = 10
            try scanner.skipLiteral("null")
        }
        #expect(truncated.failure == JSONScanError(.truncatedLiteral, at: 10))
        let wrong = scan(text) { (scanner: inout JSONScanner) throws(JSONScanError) in
            scanner.index = 5
            try scanner.skipLiteral("null")
        }
        #expect(wrong.failure == JSONScanError(.invalidLiteral, at: 5))
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
