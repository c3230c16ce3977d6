/// The digits of a phone number (or a customer id) that a spreadsheet stored as a number cell.
///
/// Excel keeps a number, not the digits typed: `13800138000` comes back as its digits, but a
/// number with more than 15 significant digits has been rounded, and one written with an
/// exponent that pads the digits given with zeros (`1.38001E+10`) has lost the rest. Those are
/// refused with a message that says to format the column as text, never guessed.
public enum SpreadsheetNumber {
    /// Excel's precision: the significant decimal digits a number cell keeps.
    public static let significantDigits = 15

    /// The whole number in `stored` (a cell's `<v>` text: `13800138000`, `13800138000.0`,
    /// `1.3800138E+10`) as decimal digits, or why it cannot be read back exactly.
    public static func digits(_ stored: String) -> Result<String, Refusal> {
        var text = Substring(stored)
        if text.hasPrefix("-") { return .failure(.negative) }
        if text.hasPrefix("+") { text = text.dropFirst() }
        var exponent = 0
        var hasExponent = false
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(text[text.index(after: e)...]), abs(value) < 400 else { return .failure(.notANumber) }
            exponent = value
            hasExponent = true
            text = text[..<e]
        }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty),
            (whole + fraction).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return .failure(.notANumber) }
        // The digits written, and the power of ten of the last one.
        var mantissa = String(whole + fraction).drop(while: { $0 == "0" })
        var scale = exponent - fraction.count
        if mantissa.isEmpty { return .success("0") }
        while scale < 0, mantissa.last == "0" {
            mantissa = mantissa.dropLast()
            scale += 1
        }
        if scale < 0 { return .failure(.fraction) }
        // Zeros that only the exponent supplies were not written: digits were lost.
        if scale > 0 && hasExponent { return .failure(.lostDigits) }
        let digits = String(mantissa) + String(repeating: "0", count: scale)
        if digits.count > significantDigits { return .failure(.tooManyDigits) }
        return .success(digits)
    }

    /// Why a number cell cannot give its digits back.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// More than 15 significant digits: Excel rounded it.
        case tooManyDigits
        /// An exponent form whose digits stop before the number does (`1.38001E+10`).
        case lostDigits
        /// Not a whole number.
        case fraction
        /// Below zero.
        case negative
        /// Not a number at all (a damaged cell).
        case notANumber

        /// The message, saying what to do.
        public var description: String {
            let fix =
                "format the column as text in the spreadsheet and enter the numbers again (or export them as text)"
            switch self {
            case .tooManyDigits:
                return
                    "a number cell with more than \(SpreadsheetNumber.significantDigits) digits, which Excel has rounded: \(fix)"
            case .lostDigits: return "a number cell stored in exponent form whose last digits were lost: \(fix)"
            case .fraction: return "a number cell that is not a whole number: \(fix)"
            case .negative: return "a negative number cell: \(fix)"
            case .notANumber: return "a number cell that cannot be read: \(fix)"
            }
        }
    }
}
