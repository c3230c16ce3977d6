/// Masks a canonical key for logs: the country code and the middle digits are hidden, so a log
/// line identifies a call for support (`138****5678`) without holding the caller's number.
public enum MaskedNumber {
    /// `+8613812345678` → `138****5678`; a short number keeps only its last two digits.
    public static func mask(key: String, countryCode: Int) -> String {
        var digits = Array(key.utf8.drop(while: { $0 == UInt8(ascii: "+") }))
        let prefix = Array(String(countryCode).utf8)
        if digits.starts(with: prefix) && digits.count > prefix.count + 6 {
            digits.removeFirst(prefix.count)
        }
        let star = UInt8(ascii: "*")
        if digits.count >= 9 {
            for i in 3..<(digits.count - 4) { digits[i] = star }
        } else {
            for i in 0..<max(0, digits.count - 2) { digits[i] = star }
        }
        return String(decoding: digits, as: UTF8.self)
    }
}
