/// The tokens of JSON text (RFC 8259): whitespace, strings, numbers and the literals, read
/// from UTF-8 bytes. The grammar of values (objects, arrays, nesting) is left to the front
/// ends, which differ in what they keep: ``UdeskQueryDecoder`` (the request path: two members,
/// no tree) and the probe's `JSONValue` (a tree of an endpoint's answer).
///
/// One scanner under both, so that a string or number the responder accepts is one the probe
/// accepts, escapes and surrogate pairs decode to the same bytes, and UTF-8 is validated by
/// the same rules. Errors are a ``JSONScanError``: a kind and a byte offset, which each front
/// end words for its own readers.
///
/// The scanner reads `bytes` in place; it must not outlive the buffer it was given (create it
/// inside `withUnsafeBufferPointer`). It allocates nothing but what a kept string appends.
public struct JSONScanner {
    /// The JSON text.
    public let bytes: UnsafeBufferPointer<UInt8>
    /// The offset of the next byte to read.
    public var index: Int

    /// Creates a scanner reading `bytes` from `index`.
    public init(bytes: UnsafeBufferPointer<UInt8>, index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    /// The next byte, or nil at the end.
    @inline(__always)
    public func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    /// Skips JSON whitespace: space, tab, line feed, carriage return.
    @inline(__always)
    public mutating func skipWhitespace() {
        while index < bytes.count, bytes[index].isASCIIWhitespace { index += 1 }
    }

    /// Reads `literal` (`true`, `false`, `null`) at `index`.
    /// - Throws: ``JSONScanError/Kind/truncatedLiteral`` if the text ends first,
    ///   ``JSONScanError/Kind/invalidLiteral`` if it differs; at the literal's first byte.
    public mutating func skipLiteral(_ literal: StaticString) throws(JSONScanError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw JSONScanError(.truncatedLiteral, at: index) }
        let matches = literal.withUTF8Buffer { expected in
            expected.elementsEqual(UnsafeBufferPointer(rebasing: bytes[index..<index + count]))
        }
        guard matches else { throw JSONScanError(.invalidLiteral, at: index) }
        index += count
    }

    // MARK: Numbers

    /// Reads a number at `index` (a `-` or a digit), by the RFC 8259 grammar.
    ///
    /// As in the grammar, a number ends after a leading `0`: in `01` the number is `0`, and
    /// what follows is the front end's to refuse.
    /// - Throws: ``JSONScanError/Kind/expectedDigit``, ``JSONScanError/Kind/expectedFractionDigit``
    ///   or ``JSONScanError/Kind/expectedExponentDigit``, where the digit is missing.
    public mutating func scanNumber() throws(JSONScanError) -> JSONNumberToken {
        let start = index
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard let first = peek(), first.isASCIIDigit else { throw JSONScanError(.expectedDigit, at: index) }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var integer = true
        if peek() == UInt8(ascii: ".") {
            integer = false
            index += 1
            guard skipDigits() > 0 else { throw JSONScanError(.expectedFractionDigit, at: index) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integer = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw JSONScanError(.expectedExponentDigit, at: index) }
        }
        return JSONNumberToken(range: start..<index, isInteger: integer, isNegative: negative)
    }

    @discardableResult
    @inline(__always)
    private mutating func skipDigits() -> Int {
        let start = index
        while index < bytes.count, bytes[index].isASCIIDigit { index += 1 }
        return index - start
    }

    // MARK: Strings

    /// Reads a string at its opening quote and appends its decoded UTF-8 bytes to `out`:
    /// escapes resolved, `\uXXXX` surrogate pairs joined. `index` ends after the closing quote.
    /// - Throws: a ``JSONScanError`` for an unterminated string, a control character, an
    ///   invalid escape, a lone surrogate or invalid UTF-8 (RFC 3629: no overlong forms, no
    ///   surrogates, nothing above U+10FFFF).
    public mutating func scanString(into out: inout [UInt8]) throws(JSONScanError) {
        try string(keeping: true, into: &out)
    }

    /// Reads a string at its opening quote, checking it as ``scanString(into:)`` does, and
    /// keeps nothing.
    public mutating func skipString() throws(JSONScanError) {
        var nothing: [UInt8] = []
        try string(keeping: false, into: &nothing)
    }

    @inline(__always)
    private mutating func string(keeping keep: Bool, into out: inout [UInt8]) throws(JSONScanError) {
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw JSONScanError(.unterminatedString, at: bytes.count) }
                let escaped = bytes[index + 1]
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                    if keep { out.append(escaped) }
                case UInt8(ascii: "b"): if keep { out.append(0x08) }
                case UInt8(ascii: "f"): if keep { out.append(0x0C) }
                case UInt8(ascii: "n"): if keep { out.append(0x0A) }
                case UInt8(ascii: "r"): if keep { out.append(0x0D) }
                case UInt8(ascii: "t"): if keep { out.append(0x09) }
                case UInt8(ascii: "u"):
                    index += 2
                    let scalar = try unicodeEscape()
                    if keep { out.append(contentsOf: UTF8.encode(scalar)!) }
                    continue
                default:
                    throw JSONScanError(.invalidEscape, at: index + 1)
                }
                index += 2
            case 0..<0x20:
                throw JSONScanError(.controlCharacter, at: index)
            case 0x80...:
                let length = try utf8SequenceLength()
                if keep { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length])) }
                index += length
            default:
                if keep { out.append(byte) }
                index += 1
            }
        }
        throw JSONScanError(.unterminatedString, at: bytes.count)
    }

    /// The four hex digits at `index`.
    private mutating func hex4() throws(JSONScanError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw JSONScanError(.truncatedUnicodeEscape, at: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONScanError(.invalidUnicodeEscape, at: index)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// The scalar of the hex digits after `\u`, joining a surrogate pair. A high surrogate must
    /// be followed by a complete `\uXXXX` low one.
    private mutating func unicodeEscape() throws(JSONScanError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xDC00...0xDFFF).contains(first) { throw JSONScanError(.loneSurrogate, at: index) }
        if (0xD800...0xDBFF).contains(first) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw JSONScanError(.loneSurrogate, at: index) }
            index += 2
            let second = try hex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw JSONScanError(.loneSurrogate, at: index) }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        }
        return Unicode.Scalar(first)!
    }

    /// The length of the multi-byte UTF-8 sequence at `index`, checked by RFC 3629.
    private func utf8SequenceLength() throws(JSONScanError) -> Int {
        let invalid = JSONScanError(.invalidUTF8, at: index)
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upper = 0x9F
        case 0xF0:
            length = 4
            lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upper = 0x8F
        default: throw invalid
        }
        guard bytes.count - index >= length else { throw invalid }
        let second = bytes[index + 1]
        guard second >= lower, second <= upper else { throw invalid }
        for offset in 2..<max(length, 2) where bytes[index + offset] & 0xC0 != 0x80 {
            throw invalid
        }
        return length
    }
}

/// A number as ``JSONScanner/scanNumber()`` found it.
public struct JSONNumberToken: Sendable, Equatable {
    /// Where its text is in the scanned bytes.
    public var range: Range<Int>
    /// True for a plain integer: no fraction, no exponent.
    public var isInteger: Bool
    /// True if it starts with `-`.
    public var isNegative: Bool

    /// Creates a token.
    public init(range: Range<Int>, isInteger: Bool, isNegative: Bool) {
        self.range = range
        self.isInteger = isInteger
        self.isNegative = isNegative
    }
}

/// Why ``JSONScanner`` stopped, and where: the front ends word it for their readers.
public struct JSONScanError: Error, Sendable, Equatable {
    /// What was wrong.
    public enum Kind: Sendable, Equatable {
        /// The text ends inside a string.
        case unterminatedString
        /// An unescaped control character (below U+0020) in a string; at the character.
        case controlCharacter
        /// A backslash followed by a character that is not an escape; at that character.
        case invalidEscape
        /// Fewer than four characters after `\u`; at the first of them.
        case truncatedUnicodeEscape
        /// A character after `\u` that is not a hex digit; at that character.
        case invalidUnicodeEscape
        /// A `\u` surrogate without its other half; after the escape that shows it.
        case loneSurrogate
        /// Invalid UTF-8 in a string; at the sequence's first byte.
        case invalidUTF8
        /// A number without a digit after its `-` (or at its start); where the digit should be.
        case expectedDigit
        /// A number without a digit after its `.`; where the digit should be.
        case expectedFractionDigit
        /// A number without a digit in its exponent; where the digit should be.
        case expectedExponentDigit
        /// The text ends inside `true`, `false` or `null`; at its first byte.
        case truncatedLiteral
        /// Something other than the literal expected; at its first byte.
        case invalidLiteral
    }

    /// What was wrong.
    public var kind: Kind
    /// The byte offset it concerns, as described for each ``Kind``.
    public var offset: Int

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }
}

extension UInt8 {
    /// True for `0` to `9`.
    @inline(__always)
    var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}
