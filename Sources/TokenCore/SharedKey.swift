/// The optional shared secret a request must carry as the `key` query parameter.
///
/// Udesk signs nothing, but lets the integrator paste any URL, so a secret in the URL (over
/// HTTPS) is the one credential available. Comparison takes the same time wherever the first
/// difference is, so the key cannot be guessed byte by byte from response times.
public struct SharedKey: Sendable {
    private let bytes: [UInt8]

    /// Creates a key from its text; surrounding whitespace (a trailing newline in a key file)
    /// is not part of it. Returns nil for an empty key.
    public init?(_ text: String) {
        let trimmed = Array(text.utf8.trimmingASCIIWhitespace())
        guard !trimmed.isEmpty else { return nil }
        bytes = trimmed
    }

    /// True when the query string carries exactly this key as `key=…` (percent-decoded).
    public func isCarried(by queryString: String) -> Bool {
        guard let offered = Self.parameter("key", in: queryString) else { return false }
        return Self.constantTimeEquals(offered, bytes)
    }

    /// The percent-decoded value of the first `name=` parameter, or nil.
    static func parameter(_ name: String, in query: String) -> [UInt8]? {
        let wanted = Array(name.utf8)
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0].elementsEqual(wanted) else { continue }
            return parts.count > 1 ? percentDecoded(parts[1]) : []
        }
        return nil
    }

    private static func percentDecoded(_ raw: Substring.UTF8View.SubSequence) -> [UInt8] {
        var out: [UInt8] = []
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            if byte == UInt8(ascii: "%"), raw.distance(from: index, to: raw.endIndex) >= 3,
                let high = hexValue(raw[raw.index(after: index)]),
                let low = hexValue(raw[raw.index(index, offsetBy: 2)])
            {
                out.append(high << 4 | low)
                index = raw.index(index, offsetBy: 3)
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index = raw.index(after: index)
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Compares without an early exit; only the lengths' equality leaks, not the contents.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let count = max(a.count, b.count)
        for i in 0..<count {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
