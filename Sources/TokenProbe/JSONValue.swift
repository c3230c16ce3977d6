import TokenCore

/// A parsed JSON document, for judging an endpoint's answer the way a strict client would.
///
/// A small byte-level parser (RFC 8259: UTF-8 only, no byte-order mark, no trailing text, no
/// comments) rather than Foundation's, to keep Foundation out of tokenctl. It keeps only what
/// the report needs: member names and string values; numbers stay as their text. Strings,
/// numbers and literals are read by TokenCore's `JSONScanner`, the responder's own, so the
/// probe judges an answer's JSON by the rules the responder reads a request's by.
public indirect enum JSONValue: Sendable, Equatable {
    /// An object's members in document order (duplicates kept).
    case object([(name: String, value: JSONValue)])
    /// An array.
    case array([JSONValue])
    /// A string, unescaped.
    case string(String)
    /// A number, as written.
    case number(String)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null

    /// A JSON syntax error: where, and what was expected or found.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Byte offset of the error in the body.
        public var offset: Int
        /// What was wrong.
        public var reason: String
        /// `unexpected '<' at byte 0`.
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Deepest nesting accepted; deeper documents are reported as errors, not crashes.
    public static let maximumDepth = 64

    /// Parses `bytes` as one complete JSON document.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw SyntaxError(offset: 0, reason: "byte-order mark before the JSON (many parsers refuse it)")
        }
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<JSONValue, SyntaxError> in
            var parser = Parser(scanner: JSONScanner(bytes: buffer))
            do throws(SyntaxError) {
                parser.scanner.skipWhitespace()
                let value = try parser.value(depth: 0)
                parser.scanner.skipWhitespace()
                if parser.scanner.index < buffer.count { throw parser.error("unexpected text after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// `object`, `array`, `string`, `number`, `boolean` or `null`, for report lines.
    public var typeName: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        }
    }

    /// The first member called `name` of an object; nil for a non-object or a missing member.
    public func member(_ name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.name == name })?.value
    }

    /// Compares structurally; object members must be in the same order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        case (.array(let a), .array(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }
}

/// The grammar of values over ``JSONScanner``, with the scanner's errors worded for the report.
private struct Parser {
    var scanner: JSONScanner

    var index: Int { scanner.index }
    var bytes: UnsafeBufferPointer<UInt8> { scanner.bytes }

    func error(_ reason: String, at offset: Int? = nil) -> JSONValue.SyntaxError {
        JSONValue.SyntaxError(offset: offset ?? index, reason: reason)
    }

    func unexpected(_ expected: String, at offset: Int? = nil) -> JSONValue.SyntaxError {
        let offset = offset ?? index
        guard offset < bytes.count else { return error("the body ends where \(expected) was expected", at: offset) }
        let byte = bytes[offset]
        let shown =
            byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        return error("unexpected \(shown) where \(expected) was expected", at: offset)
    }

    mutating func value(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        guard index < bytes.count else { throw unexpected("a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw unexpected("a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.SyntaxError) {
        do {
            try scanner.skipLiteral(word)
        } catch {
            throw unexpected("a value", at: error.offset)
        }
    }

    mutating func object(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        if depth > JSONValue.maximumDepth { throw error("nested deeper than \(JSONValue.maximumDepth) levels") }
        scanner.index += 1
        var members: [(name: String, value: JSONValue)] = []
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.index += 1
            return .object(members)
        }
        while true {
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: "\"") else { throw unexpected("a member name in quotes") }
            let name = try string()
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: ":") else { throw unexpected("':'") }
            scanner.index += 1
            scanner.skipWhitespace()
            members.append((name, try value(depth: depth)))
            scanner.skipWhitespace()
            guard let next = scanner.peek() else { throw unexpected("',' or '}'") }
            if next == UInt8(ascii: ",") {
                scanner.index += 1
                continue
            }
            guard next == UInt8(ascii: "}") else { throw unexpected("',' or '}'") }
            scanner.index += 1
            return .object(members)
        }
    }

    mutating func array(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        if depth > JSONValue.maximumDepth { throw error("nested deeper than \(JSONValue.maximumDepth) levels") }
        scanner.index += 1
        var elements: [JSONValue] = []
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "]") {
            scanner.index += 1
            return .array(elements)
        }
        while true {
            scanner.skipWhitespace()
            elements.append(try value(depth: depth))
            scanner.skipWhitespace()
            guard let next = scanner.peek() else { throw unexpected("',' or ']'") }
            if next == UInt8(ascii: ",") {
                scanner.index += 1
                continue
            }
            guard next == UInt8(ascii: "]") else { throw unexpected("',' or ']'") }
            scanner.index += 1
            return .array(elements)
        }
    }

    mutating func number() throws(JSONValue.SyntaxError) -> String {
        let token: JSONNumberToken
        do {
            token = try scanner.scanNumber()
        } catch {
            switch error.kind {
            case .expectedFractionDigit: throw unexpected("a digit after '.'", at: error.offset)
            case .expectedExponentDigit: throw unexpected("a digit in the exponent", at: error.offset)
            default: throw unexpected("a digit", at: error.offset)
            }
        }
        // The grammar ends a number after a leading 0; the report names the mistake instead of
        // complaining about the digit after it.
        if let next = scanner.peek(), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
            throw error("number with a leading zero")
        }
        return String(decoding: bytes[token.range], as: UTF8.self)
    }

    mutating func string() throws(JSONValue.SyntaxError) -> String {
        var out: [UInt8] = []
        do {
            try scanner.scanString(into: &out)
        } catch {
            throw self.error(Self.reason(error.kind), at: error.offset)
        }
        // The scanner has checked the UTF-8.
        return String(decoding: out, as: UTF8.self)
    }

    /// The report's wording of a string error.
    private static func reason(_ kind: JSONScanError.Kind) -> String {
        switch kind {
        case .unterminatedString: "unterminated string"
        case .controlCharacter: "unescaped control character in a string"
        case .invalidEscape: "invalid escape in a string"
        case .truncatedUnicodeEscape: "unterminated \\u escape"
        case .invalidUnicodeEscape: "invalid \\u escape"
        case .loneSurrogate: "unpaired surrogate in a \\u escape"
        case .invalidUTF8: "string is not valid UTF-8"
        default: "malformed string"
        }
    }
}
