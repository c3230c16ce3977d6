import TokenCore

/// How the phone number is written in the request body. Udesk has been seen sending both, so
/// the probe alternates between them and reports each separately.
public enum NumberEncoding: String, Sendable, CaseIterable, Comparable {
    /// `"number": 13800138000`.
    case integer
    /// `"number": "13800138000"`.
    case string

    /// The encodings to alternate for `number`, integer first. A number is sent as an integer
    /// only when that is valid JSON and exact: 1 to 15 digits (E.164's maximum), no leading zero.
    public static func encodings(for number: String) -> [NumberEncoding] {
        canBeInteger(number) ? [.integer, .string] : [.string]
    }

    /// Whether `number` can be written as a JSON integer without changing it.
    public static func canBeInteger(_ number: String) -> Bool {
        let digits = Array(number.utf8)
        guard (1...15).contains(digits.count),
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return false }
        return digits.count == 1 || digits[0] != UInt8(ascii: "0")
    }

    /// Orders integer before string.
    public static func < (lhs: NumberEncoding, rhs: NumberEncoding) -> Bool {
        lhs == .integer && rhs == .string
    }

    /// The body Udesk sends: `{"timestamp": 1501124998, "number": …}`, the number written
    /// this way (as a string when it cannot be an integer).
    public func body(number: String, timestamp: Int64) -> [UInt8] {
        var out = Array(#"{"timestamp": "#.utf8)
        out.append(contentsOf: Array(String(timestamp).utf8))
        out.append(contentsOf: Array(#", "number": "#.utf8))
        if self == .integer && Self.canBeInteger(number) {
            out.append(contentsOf: Array(number.utf8))
        } else {
            JSONText.appendString(number, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
