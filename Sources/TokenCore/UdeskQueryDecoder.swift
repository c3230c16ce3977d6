/// Decodes Udesk's request body: one JSON object with `number` and, optionally, `timestamp`.
///
/// A small byte-level parser rather than Foundation's `JSONDecoder`: it validates the whole
/// document (RFC 8259 grammar, UTF-8, escapes, nesting depth) without building a tree, skips
/// unknown members, and keeps Foundation out of the binary, which matters for plain-CGI start-up.
///
/// Rules:
/// - The body must be exactly one JSON object, optionally surrounded by whitespace and preceded
///   by a UTF-8 byte-order mark; anything after it is an error.
/// - `number` is a JSON string (any written form; the normaliser decides if it is a phone number)
///   or a non-negative JSON integer (its digits). Other types are `invalidField`.
/// - `timestamp` is a JSON integer or a string of decimal digits that fits in 64 bits; `null` is
///   treated as absent. Other values are `invalidField`.
/// - A member named twice (`number` or `timestamp`) is `invalidField`: the request is ambiguous.
/// - Any other member is validated as JSON and ignored.
/// - Syntax errors take precedence over field errors, so a broken document is always `invalidJSON`.
public struct UdeskQueryDecoder: Sendable {
    /// Deepest nesting of arrays and objects accepted inside ignored members.
    public var maxDepth: Int

    /// Creates a decoder.
    public init(maxDepth: Int = 32) {
        self.maxDepth = maxDepth
    }

    /// Decodes `body`, throwing `invalidJSON`, `missingNumber` or `invalidField`.
    public func decode(_ body: [UInt8]) throws(RequestError) -> UdeskQuery {
        let result = body.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, maxDepth: maxDepth)
            return parser.parseDocument()
        }
        switch result {
        case .success(let query): return query
        case .failure(let error): throw error
        }
    }
}

/// A JSON syntax error, with a short description of what was wrong.
private struct SyntaxError: Error {
    var reason: String
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() -> Result<UdeskQuery, RequestError> {
        var number: String?
        var timestamp: Int64?
        var fieldError: RequestError?
        var seenNumber = false
        var seenTimestamp = false
        do {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
            guard index < bytes.count else { throw SyntaxError(reason: "no JSON value") }
            guard bytes[index] == UInt8(ascii: "{") else {
                throw SyntaxError(reason: "expected a JSON object")
            }
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
            } else {
                memberLoop: while true {
                    skipWhitespace()
                    guard peek() == UInt8(ascii: "\"") else {
                        throw SyntaxError(reason: "expected a member name in double quotes")
                    }
                    let name = try parseString(keep: true)
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                    skipWhitespace()
                    switch Member(name) {
                    case .number:
                        if seenNumber {
                            fieldError = fieldError ?? .invalidField(reason: "\"number\" appears more than once")
                        }
                        seenNumber = true
                        switch try parseNumberValue() {
                        case .success(let value): number = value
                        case .failure(let error): fieldError = fieldError ?? error
                        }
                    case .timestamp:
                        if seenTimestamp {
                            fieldError = fieldError ?? .invalidField(reason: "\"timestamp\" appears more than once")
                        }
                        seenTimestamp = true
                        switch try parseTimestampValue() {
                        case .success(let value): timestamp = value
                        case .failure(let error): fieldError = fieldError ?? error
                        }
                    case .other:
                        try skipValue(depth: 1)
                    }
                    skipWhitespace()
                    switch peek() {
                    case UInt8(ascii: ","): index += 1
                    case UInt8(ascii: "}"): index += 1; break memberLoop
                    default: throw SyntaxError(reason: "expected ',' or '}' after a member")
                    }
                }
            }
            skipWhitespace()
            guard index == bytes.count else {
                throw SyntaxError(reason: "unexpected data after the JSON object")
            }
        } catch let error as SyntaxError {
            return .failure(.invalidJSON(reason: error.reason))
        } catch {
            return .failure(.invalidJSON(reason: "unreadable"))
        }
        if let fieldError { return .failure(fieldError) }
        guard let number else { return .failure(.missingNumber) }
        return .success(UdeskQuery(number: number, timestamp: timestamp))
    }

    private enum Member {
        case number, timestamp, other
        init(_ name: [UInt8]) {
            if name.elementsEqual("number".utf8) {
                self = .number
            } else if name.elementsEqual("timestamp".utf8) {
                self = .timestamp
            } else {
                self = .other
            }
        }
    }

    // MARK: Field values

    private mutating func parseNumberValue() throws(SyntaxError) -> Result<String, RequestError> {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""):
            let raw = try parseString(keep: true)
            return .success(String(decoding: raw, as: UTF8.self))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try scanNumber()
            guard token.isPlainInteger, !token.isNegative else {
                return .failure(.invalidField(reason: "\"number\" must be a string or a non-negative integer"))
            }
            return .success(String(decoding: bytes[token.range], as: UTF8.self))
        default:
            try skipValue(depth: 1)
            return .failure(.invalidField(reason: "\"number\" must be a string or a non-negative integer"))
        }
    }

    private mutating func parseTimestampValue() throws(SyntaxError) -> Result<Int64?, RequestError> {
        let wrongType = RequestError.invalidField(
            reason: "\"timestamp\" must be an integer UNIX time or a string of digits")
        switch peek() ?? 0 {
        case UInt8(ascii: "\""):
            let raw = try parseString(keep: true)
            guard let value = Self.integer(raw[...]) else { return .failure(wrongType) }
            return .success(value)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try scanNumber()
            guard token.isPlainInteger, let value = Self.integer(bytes[token.range]) else {
                return .failure(wrongType)
            }
            return .success(value)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .success(nil)
        default:
            try skipValue(depth: 1)
            return .failure(wrongType)
        }
    }

    /// Parses an optionally negative decimal integer that fits in `Int64`.
    private static func integer<C: Collection<UInt8>>(_ digits: C) -> Int64? {
        var iterator = digits.makeIterator()
        var negative = false
        var value: Int64 = 0
        var count = 0
        while let byte = iterator.next() {
            if count == 0 && !negative && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            count += 1
        }
        return count > 0 ? value : nil
    }

    // MARK: Grammar

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(SyntaxError) {
        guard peek() == byte else { throw SyntaxError(reason: reason) }
        index += 1
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw SyntaxError(reason: "truncated literal") }
        let matches = literal.withUTF8Buffer { expected in
            expected.elementsEqual(bytes[index..<index + count])
        }
        guard matches else { throw SyntaxError(reason: "unexpected character") }
        index += count
    }

    /// Validates any JSON value, descending at most `maxDepth` levels.
    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        guard let byte = peek() else { throw SyntaxError(reason: "unexpected end of input") }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try parseString(keep: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            guard depth < maxDepth else { throw SyntaxError(reason: "nesting is too deep") }
            let isObject = byte == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    guard peek() == UInt8(ascii: "\"") else {
                        throw SyntaxError(reason: "expected a member name in double quotes")
                    }
                    _ = try parseString(keep: false)
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let next = peek() else { throw SyntaxError(reason: "unexpected end of input") }
                index += 1
                if next == close { return }
                guard next == UInt8(ascii: ",") else {
                    throw SyntaxError(reason: "expected ',' or a closing bracket")
                }
            }
        default:
            throw SyntaxError(reason: "unexpected character")
        }
    }

    struct NumberToken {
        var range: Range<Int>
        var isPlainInteger: Bool
        var isNegative: Bool
    }

    /// Scans a JSON number (RFC 8259 grammar) and reports whether it is a plain integer.
    private mutating func scanNumber() throws(SyntaxError) -> NumberToken {
        let start = index
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard let first = peek(), first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw SyntaxError(reason: "malformed number")
        }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var integer = true
        if peek() == UInt8(ascii: ".") {
            integer = false
            index += 1
            guard skipDigits() > 0 else { throw SyntaxError(reason: "malformed number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integer = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw SyntaxError(reason: "malformed number") }
        }
        return NumberToken(range: start..<index, isPlainInteger: integer, isNegative: negative)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// Parses a string starting at its opening quote; returns its decoded UTF-8 bytes if `keep`.
    private mutating func parseString(keep: Bool) throws(SyntaxError) -> [UInt8] {
        index += 1  // opening quote
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return out
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = peek() else { break }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                    if keep { out.append(escaped) }
                case UInt8(ascii: "b"): if keep { out.append(0x08) }
                case UInt8(ascii: "f"): if keep { out.append(0x0C) }
                case UInt8(ascii: "n"): if keep { out.append(0x0A) }
                case UInt8(ascii: "r"): if keep { out.append(0x0D) }
                case UInt8(ascii: "t"): if keep { out.append(0x09) }
                case UInt8(ascii: "u"):
                    let scalar = try parseUnicodeEscape()
                    if keep { out.append(contentsOf: UTF8.encode(scalar)!) }
                default:
                    throw SyntaxError(reason: "invalid escape in a string")
                }
            case 0..<0x20:
                throw SyntaxError(reason: "control character in a string")
            case 0x80...:
                let length = try validateUTF8Sequence()
                if keep { out.append(contentsOf: bytes[index..<index + length]) }
                index += length
            default:
                if keep { out.append(byte) }
                index += 1
            }
        }
        throw SyntaxError(reason: "unterminated string")
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw SyntaxError(reason: "truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw SyntaxError(reason: "invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Parses the hex digits after `\u`, joining a surrogate pair; lone surrogates are errors.
    private mutating func parseUnicodeEscape() throws(SyntaxError) -> Unicode.Scalar {
        let first = try parseHex4()
        if (0xDC00...0xDFFF).contains(first) { throw SyntaxError(reason: "lone surrogate in \\u escape") }
        if (0xD800...0xDBFF).contains(first) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                bytes[index + 1] == UInt8(ascii: "u")
            else { throw SyntaxError(reason: "lone surrogate in \\u escape") }
            index += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else {
                throw SyntaxError(reason: "lone surrogate in \\u escape")
            }
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            return Unicode.Scalar(combined)!
        }
        return Unicode.Scalar(first)!
    }

    /// Checks the multi-byte UTF-8 sequence at `index` (RFC 3629: no overlongs, no surrogates,
    /// nothing above U+10FFFF) and returns its length.
    private func validateUTF8Sequence() throws(SyntaxError) -> Int {
        let invalid = SyntaxError(reason: "invalid UTF-8")
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw invalid
        }
        guard bytes.count - index >= length else { throw invalid }
        let second = bytes[index + 1]
        guard second >= lower, second <= upper else { throw invalid }
        for offset in 2..<max(length, 2) {
            let continuation = bytes[index + offset]
            guard continuation & 0xC0 == 0x80 else { throw invalid }
        }
        return length
    }
}
