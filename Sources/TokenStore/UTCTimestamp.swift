import Glibc

/// UNIX seconds written as ISO-8601 in UTC, as `export --minted` and `stats` show them.
public enum UTCTimestamp {
    /// `2024-05-06T07:08:09Z` for `seconds` since 1970-01-01T00:00:00Z.
    public static func iso8601(_ seconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(seconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ISO-8601 form of `seconds` to `out` (no allocation beyond `out`'s growth).
    public static func append(_ seconds: Int64, to out: inout [UInt8]) {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else {
            out.append(contentsOf: Array(String(seconds).utf8))
            return
        }
        appendDigits(Int(parts.tm_year) + 1900, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mon) + 1, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mday), 2, &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(Int(parts.tm_hour), 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_min), 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_sec), 2, &out)
        out.append(UInt8(ascii: "Z"))
    }

    private static func appendDigits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendDigits(-value, width, &out)
            return
        }
        let digits = Array(String(value).utf8)
        if digits.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
        out.append(contentsOf: digits)
    }
}
