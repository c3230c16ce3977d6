import Glibc
import TokenStore

/// The character encoding `tokenctl import --encoding` reads a CSV or TSV file in.
public enum InputEncoding: String, Sendable, CaseIterable {
    /// UTF-8 (Excel's "CSV UTF-8"); invalid bytes refuse the file.
    case utf8 = "utf-8"
    /// GB18030 (and so GBK and GB2312, its subsets): what Excel and WPS save as "CSV" on a
    /// Chinese Windows.
    case gb18030
    /// UTF-8 when the bytes are valid UTF-8, else GB18030 (decided at the first non-ASCII bytes).
    case auto

    /// The iconv name of a concrete encoding.
    var iconvName: String {
        switch self {
        case .utf8, .auto: "UTF-8"
        case .gb18030: "GB18030"
        }
    }
}

/// Reads a file descriptor and hands on UTF-8: the bytes as they are for UTF-8 (validated), or
/// converted from GB18030, with glibc's iconv, block by block, so memory stays flat however long
/// the file is. A UTF-8 byte order mark at the start is dropped whatever the encoding.
///
/// With ``InputEncoding/auto`` the bytes pass through until the first non-ASCII byte (ASCII is
/// the same in both encodings); the block from there decides: valid UTF-8 stays UTF-8, anything
/// else is read as GB18030 and ``detected`` says so. A file that turns out invalid later is
/// refused (at that line, which ``CSVReader`` names) rather than read wrongly.
public final class InputDecoder {
    /// A byte sequence the encoding does not allow, or a file that ends inside a character.
    /// The bytes before it have all been handed on: the reader of the text knows the line.
    public struct DecodingError: Error, Sendable, Equatable {
        /// What is wrong, naming the byte offset and what to do.
        public var reason: String
    }

    /// Input bytes consumed from the file so far (including the `prefix` given at creation).
    public private(set) var bytesRead = 0
    /// The encoding in use once decided: nil until the first non-ASCII byte with `.auto`.
    public private(set) var detected: InputEncoding?
    /// Called once, when `.auto` has decided (with `.utf8` or `.gb18030`).
    public var onDetect: ((InputEncoding) -> Void)?

    private let fd: Int32
    private let requested: InputEncoding
    private var raw: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var eof = false
    private var checkedBOM = false
    private var converter: iconv_t?
    /// Bytes of the file before `raw[0]`.
    private var rawOffset = 0
    private var pendingError: DecodingError?

    /// Reads `fd` (not closed here) after the bytes in `prefix`, which were already read from it
    /// (to sniff the format).
    public init(fd: Int32, encoding: InputEncoding, prefix: [UInt8] = []) {
        self.fd = fd
        self.requested = encoding
        self.raw = [UInt8](repeating: 0, count: max(1 << 16, prefix.count * 2))
        raw.replaceSubrange(0..<prefix.count, with: prefix)
        rawEnd = prefix.count
        bytesRead = prefix.count
        if encoding != .auto { detected = encoding }
    }

    deinit {
        if let converter { iconv_close(converter) }
    }

    /// Fills `out` with decoded UTF-8; returns how many bytes, 0 at the end of the input.
    /// Bytes before a bad sequence are returned first; the next call throws.
    public func read(into out: UnsafeMutableRawBufferPointer) throws(DecodingError) -> Int {
        if let pendingError { throw pendingError }
        while true {
            if rawEnd - rawStart < 4 && !eof { fillRaw() }
            if !checkedBOM {
                if rawEnd - rawStart < 3 && !eof { continue }
                checkedBOM = true
                if rawEnd - rawStart >= 3 && raw[rawStart] == 0xEF && raw[rawStart + 1] == 0xBB
                    && raw[rawStart + 2] == 0xBF
                {
                    rawStart += 3
                    if requested == .auto { decide(.utf8) }
                }
            }
            if rawStart == rawEnd {
                if eof { return 0 }
                continue
            }
            let produced: Int
            if detected == nil {
                produced = passASCII(into: out)
                if produced == 0 {
                    // A non-ASCII byte is next: decide with what follows.
                    while rawEnd - rawStart < 4096 && !eof { fillRaw() }
                    decide(looksLikeUTF8() ? .utf8 : .gb18030)
                    continue
                }
            } else {
                produced = convert(into: out)
            }
            if produced > 0 { return produced }
            if let pendingError { throw pendingError }
            if eof && rawStart < rawEnd {
                throw error("the file ends inside a character")
            }
        }
    }

    private func fillRaw() {
        if rawStart > 0 {
            let remaining = rawEnd - rawStart
            raw.withUnsafeMutableBufferPointer { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + rawStart, remaining)
            }
            rawOffset += rawStart
            rawStart = 0
            rawEnd = remaining
        }
        if rawEnd == raw.count { raw.append(contentsOf: repeatElement(0, count: raw.count)) }
        while true {
            let (fd, rawEnd) = (self.fd, self.rawEnd)
            let n = raw.withUnsafeMutableBufferPointer { b in Glibc.read(fd, b.baseAddress! + rawEnd, b.count - rawEnd)
            }
            if n > 0 {
                self.rawEnd += n
                bytesRead += n
                return
            }
            if n < 0 && errno == EINTR { continue }
            eof = true
            return
        }
    }

    /// Copies the ASCII bytes ahead into `out`, stopping at the first non-ASCII one (eight bytes
    /// at a time: a file can be hundreds of megabytes of ASCII).
    private func passASCII(into out: UnsafeMutableRawBufferPointer) -> Int {
        let (start, end) = (rawStart, min(rawEnd, rawStart + out.count))
        let n = raw.withUnsafeBytes { r -> Int in
            var i = start
            while i + 8 <= end && r.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            while i < end && r[i] < 0x80 { i += 1 }
            if i > start { out.baseAddress!.copyMemory(from: r.baseAddress! + start, byteCount: i - start) }
            return i - start
        }
        rawStart += n
        return n
    }

    /// True when the buffered bytes from here are valid UTF-8 (a character cut off by the end of
    /// the buffer counts as valid).
    private func looksLikeUTF8() -> Bool {
        guard let probe = Self.open(.utf8) else { return false }
        defer { iconv_close(probe) }
        var scratch = [UInt8](repeating: 0, count: (rawEnd - rawStart) * 4 + 16)
        return raw.withUnsafeMutableBufferPointer { r in
            scratch.withUnsafeMutableBufferPointer { s in
                var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(r.baseAddress! + rawStart)
                    .assumingMemoryBound(to: CChar.self)
                var inLeft = rawEnd - rawStart
                var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(s.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var outLeft = s.count
                let result = iconv(probe, &inPointer, &inLeft, &outPointer, &outLeft)
                return result != -1 || errno == EINVAL
            }
        }
    }

    private func decide(_ encoding: InputEncoding) {
        detected = encoding
        onDetect?(encoding)
    }

    /// Runs iconv over the buffered bytes into `out`.
    private func convert(into out: UnsafeMutableRawBufferPointer) -> Int {
        if converter == nil {
            guard let opened = Self.open(detected ?? .utf8) else {
                pendingError = error("iconv cannot convert from \(detected?.iconvName ?? "UTF-8") on this system")
                return 0
            }
            converter = opened
        }
        let available = rawEnd - rawStart
        var inLeft = available
        var outLeft = out.count
        let result = raw.withUnsafeMutableBufferPointer { r in
            var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(r.baseAddress! + rawStart)
                .assumingMemoryBound(to: CChar.self)
            var outPointer: UnsafeMutablePointer<CChar>? = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            return iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
        }
        let failure = result == -1 ? errno : 0
        rawStart += available - inLeft
        let produced = out.count - outLeft
        if failure == EILSEQ {
            let offset = rawOffset + rawStart
            let encoding = detected ?? .utf8
            let hint =
                encoding == .utf8
                ? (requested == .auto
                    ? "; the file mixes encodings: convert it to UTF-8" : "; give --encoding gb18030 if it is GB18030")
                : "; give --encoding utf-8 if it is UTF-8"
            let message = "bytes not valid \(encoding.iconvName) at byte \(offset) of the file\(hint)"
            pendingError = DecodingError(reason: message)
        }
        // EINVAL (a character cut off by the end of the buffer) and E2BIG (out full) just
        // return what was produced; the next call reads more.
        return produced
    }

    private func error(_ reason: String) -> DecodingError {
        DecodingError(reason: reason)
    }

    private static func open(_ encoding: InputEncoding) -> iconv_t? {
        let descriptor = iconv_open("UTF-8", encoding.iconvName)
        return descriptor == iconv_t(bitPattern: -1) ? nil : descriptor
    }
}
