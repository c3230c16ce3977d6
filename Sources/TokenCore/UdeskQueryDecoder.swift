/// Decodes Udesk's request body: one JSON object with `number` and, optionally, `timestamp`.
///
/// A small byte-level parser rather than Foundation's `JSONDecoder`: it validates the whole
/// document (RFC 8259 grammar, UTF-8, escapes, nesting depth) without building a tree, skips
/// unknown members, and keeps Foundation out of the binary, which matters for plain-CGI start-up.
/// Strings, numbers and literals are read by ``JSONScanner``, as in the probe's parser of answers.
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
    var scanner: JSONScanner
    let maxDepth: Int

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        scanner = JSONScanner(bytes: bytes)
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() -> Result<UdeskQuery, RequestError> {
        var number: String?
        var timestamp: Int64?
        var fieldError: RequestError?
        var seenNumber = false
        var seenTimestamp = false
        do {
            let bytes = scanner.bytes
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { scanner.index = 3 }
            scanner.skipWhitespace()
            guard let first = scanner.peek() else { throw SyntaxError(reason: "no JSON value") }
            guard first == UInt8(ascii: "{") else {
                throw SyntaxError(reason: "expected a JSON object")
            }
            scanner.index += 1
            scanner.skipWhitespace()
            if scanner.peek() == UInt8(ascii: "}") {
                scanner.index += 1
            } else {
                memberLoop: while true {
                    scanner.skipWhitespace()
                    guard scanner.peek() == UInt8(ascii: "\"") else {
                        throw SyntaxError(reason: "expected a member name in double quotes")
                    }
                    let name = try parseString(keep: true)
                    scanner.skipWhitespace()
                    try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                    scanner.skipWhitespace()
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
                    scanner.skipWhitespace()
                    switch scanner.peek() {
                    case UInt8(ascii: ","): scanner.index += 1
                    case UInt8(ascii: "}"):
                        scanner.index += 1
                        break memberLoop
                    default: throw SyntaxError(reason: "expected ',' or '}' after a member")
                    }
                }
            }
            scanner.skipWhitespace()
            guard scanner.index == bytes.count else {
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
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "\""):
            let raw = try parseString(keep: true)
            return .success(String(decoding: raw, as: UTF8.self))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try scanNumber()
            guard token.isInteger, !token.isNegative else {
                return .failure(.invalidField(reason: "\"number\" must be a string or a non-negative integer"))
            }
            return .success(String(decoding: scanner.bytes[token.range], as: UTF8.self))
        default:
            try skipValue(depth: 1)
            return .failure(.invalidField(reason: "\"number\" must be a string or a non-negative integer"))
        }
    }

    private mutating func parseTimestampValue() throws(SyntaxError) -> Result<Int64?, RequestError> {
        let wrongType = RequestError.invalidField(
            reason: "\"timestamp\" must be an integer UNIX time or a string of digits")
        switch scanner.peek() ?? 0 {
        case UInt8(ascii: "\""):
            let raw = try parseString(keep: true)
            guard let value = Self.integer(raw[...]) else { return .failure(wrongType) }
            return .success(value)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try scanNumber()
            guard token.isInteger, let value = Self.integer(scanner.bytes[token.range]) else {
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

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(SyntaxError) {
        guard scanner.peek() == byte else { throw SyntaxError(reason: reason) }
        scanner.index += 1
    }

    /// Validates any JSON value, descending at most `maxDepth` levels.
    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        guard let byte = scanner.peek() else { throw SyntaxError(reason: "unexpected end of input") }
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
            scanner.index += 1
            scanner.skipWhitespace()
            if scanner.peek() == close {
                scanner.index += 1
                return
            }
            while true {
                scanner.skipWhitespace()
                if isObject {
                    guard scanner.peek() == UInt8(ascii: "\"") else {
                        throw SyntaxError(reason: "expected a member name in double quotes")
                    }
                    _ = try parseString(keep: false)
                    scanner.skipWhitespace()
                    try expect(UInt8(ascii: ":"), "expected ':' after a member name")
                    scanner.skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                scanner.skipWhitespace()
                guard let next = scanner.peek() else { throw SyntaxError(reason: "unexpected end of input") }
                scanner.index += 1
                if next == close { return }
                guard next == UInt8(ascii: ",") else {
                    throw SyntaxError(reason: "expected ',' or a closing bracket")
                }
            }
        default:
            throw SyntaxError(reason: "unexpected character")
        }
    }

    // MARK: Tokens, worded for the error body

    /// Parses a string starting at its opening quote; returns its decoded UTF-8 bytes if `keep`.
    private mutating func parseString(keep: Bool) throws(SyntaxError) -> [UInt8] {
        var out: [UInt8] = []
        do {
            if keep {
                try scanner.scanString(into: &out)
            } else {
                try scanner.skipString()
            }
        } catch {
            throw Self.syntaxError(error)
        }
        return out
    }

    private mutating func scanNumber() throws(SyntaxError) -> JSONNumberToken {
        do {
            return try scanner.scanNumber()
        } catch {
            throw Self.syntaxError(error)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        do {
            try scanner.skipLiteral(literal)
        } catch {
            throw Self.syntaxError(error)
        }
    }

    /// The reason given in the `invalid_json` body.
    private static func syntaxError(_ error: JSONScanError) -> SyntaxError {
        switch error.kind {
        case .unterminatedString: SyntaxError(reason: "unterminated string")
        case .controlCharacter: SyntaxError(reason: "control character in a string")
        case .invalidEscape: SyntaxError(reason: "invalid escape in a string")
        case .truncatedUnicodeEscape: SyntaxError(reason: "truncated \\u escape")
        case .invalidUnicodeEscape: SyntaxError(reason: "invalid \\u escape")
        case .loneSurrogate: SyntaxError(reason: "lone surrogate in \\u escape")
        case .invalidUTF8: SyntaxError(reason: "invalid UTF-8")
        case .expectedDigit, .expectedFractionDigit, .expectedExponentDigit: SyntaxError(reason: "malformed number")
        case .truncatedLiteral: SyntaxError(reason: "truncated literal")
        case .invalidLiteral: SyntaxError(reason: "unexpected character")
        }
    }
}
