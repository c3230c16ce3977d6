/// ASCII whitespace, the one definition of it: space, tab, line feed and carriage return.
///
/// These are JSON's whitespace (RFC 8259) and what surrounds a value written by hand or by a
/// tool: a trailing newline in a key file, spaces around a header parameter or a CSV cell.
/// Other Unicode spaces are not trimmed: where they matter (the phone-number normaliser), they
/// are read as part of the text.
extension UInt8 {
    /// True for space, tab, line feed and carriage return.
    @inlinable
    public var isASCIIWhitespace: Bool {
        self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D
    }
}

extension Collection where Element == UInt8 {
    /// The bytes without leading and trailing ASCII whitespace; inner bytes are kept as they are.
    public func trimmingASCIIWhitespace() -> SubSequence {
        guard let start = firstIndex(where: { !$0.isASCIIWhitespace }) else { return self[endIndex...] }
        var end = index(after: start)
        var position = end
        while position < endIndex {
            if !self[position].isASCIIWhitespace { end = index(after: position) }
            formIndex(after: &position)
        }
        return self[start..<end]
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII whitespace. Trimming ASCII bytes from UTF-8
    /// always leaves whole characters, so nothing else changes.
    public func trimmingASCIIWhitespace() -> String {
        String(decoding: utf8.trimmingASCIIWhitespace(), as: UTF8.self)
    }
}
