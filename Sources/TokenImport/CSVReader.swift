import Glibc
import TokenStore

/// Streams records from CSV or TSV text (RFC 4180 quoting, CRLF or LF, optional UTF-8 BOM),
/// reading a file descriptor in 64 KiB blocks so memory stays flat however long the file is.
/// The bytes come through an ``InputDecoder``, so the records are UTF-8 whatever the file's
/// encoding.
///
/// Hand-written rather than a CSV package: the packages available read the whole file into
/// memory or go through Foundation streams, and import speed is a product requirement.
public struct CSVReader: ~Copyable {
    /// A malformed record.
    public struct SyntaxError: Error, Sendable, Equatable {
        /// 1-based line where the record starts.
        public var line: Int
        /// What is wrong.
        public var reason: String
    }

    private let input: InputDecoder
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false
    private var checkedBOM = false
    /// Field separator: `,` or tab.
    public var separator: UInt8
    /// 1-based line number of the next record.
    public private(set) var line = 1

    /// Reads UTF-8 from `fd` (not closed by the reader).
    public init(fd: Int32, separator: UInt8 = UInt8(ascii: ",")) {
        self.init(input: InputDecoder(fd: fd, encoding: .utf8), separator: separator)
    }

    /// Reads what `input` decodes.
    public init(input: InputDecoder, separator: UInt8 = UInt8(ascii: ",")) {
        self.input = input
        self.separator = separator
        self.buffer = [UInt8](repeating: 0, count: 1 << 16)
    }

    /// Bytes of the file consumed so far (for progress).
    public var bytesRead: Int { input.bytesRead }

    private mutating func fill() throws(SyntaxError) -> Bool {
        if atEOF { return false }
        if start > 0 {
            let remaining = end - start
            buffer.withUnsafeMutableBufferPointer { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + start, remaining)
            }
            start = 0
            end = remaining
        }
        if end == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let input = self.input
        let end = self.end
        let result = buffer.withUnsafeMutableBytes { b in
            Result { () throws(InputDecoder.DecodingError) -> Int in
                try input.read(into: UnsafeMutableRawBufferPointer(rebasing: b[end...]))
            }
        }
        let n: Int
        switch result {
        case .success(let count): n = count
        case .failure(let error):
            // Everything before the bad bytes is in the buffer: its line is the reader's line
            // plus the newlines still unread.
            atEOF = true
            var unread = 0
            for i in start..<self.end where buffer[i] == 0x0A { unread += 1 }
            throw SyntaxError(line: line + unread, reason: error.reason)
        }
        if n > 0 {
            self.end += n
            return true
        }
        atEOF = true
        return false
    }

    /// Peeks at the first bytes of the input without consuming them (after a BOM), to sniff
    /// the separator. Returns up to `count` bytes.
    public mutating func peekPrefix(_ count: Int) throws(SyntaxError) -> [UInt8] {
        try skipBOM()
        while end - start < count, try fill() {}
        return Array(buffer[start..<min(end, start + count)])
    }

    private mutating func skipBOM() throws(SyntaxError) {
        guard !checkedBOM else { return }
        checkedBOM = true
        while end - start < 3, try fill() {}
        if end - start >= 3, buffer[start] == 0xEF, buffer[start + 1] == 0xBB, buffer[start + 2] == 0xBF {
            start += 3
        }
    }

    /// The next record's fields as raw bytes, nil at end of input.
    public mutating func next() throws(SyntaxError) -> [[UInt8]]? {
        try skipBOM()
        if start == end, !(try fill()) { return nil }
        let recordLine = line
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quotedField = false
        var afterQuote = false
        while true {
            if start == end, !(try fill()) {
                if inQuotes { throw SyntaxError(line: recordLine, reason: "unterminated quoted field") }
                fields.append(field)
                return fields
            }
            let byte = buffer[start]
            start += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if start == end { _ = try fill() }
                    if start < end && buffer[start] == UInt8(ascii: "\"") {
                        field.append(byte)
                        start += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case separator:
                fields.append(field)
                field = []
                quotedField = false
                afterQuote = false
            case 0x0A:
                line += 1
                fields.append(field)
                return fields
            case 0x0D:
                if start == end { _ = try fill() }
                if start < end && buffer[start] == 0x0A { continue }
                throw SyntaxError(line: recordLine, reason: "carriage return inside an unquoted field")
            case UInt8(ascii: "\"") where field.isEmpty && !quotedField:
                inQuotes = true
                quotedField = true
            default:
                if afterQuote {
                    throw SyntaxError(line: recordLine, reason: "text after a closing quote")
                }
                if byte == UInt8(ascii: "\"") {
                    throw SyntaxError(line: recordLine, reason: "quote inside an unquoted field")
                }
                field.append(byte)
            }
        }
    }
}
