/// The one rule for showing a phone number where it must not be shown in full: log lines, the
/// `tokenctl verify` report, the `tokenctl probe` report.
///
/// The output is the canonical key with most of its national digits replaced by `*`:
///
/// | key | national digits | masked |
/// |---|---|---|
/// | `+8613800138000` (mobile) | 11 | `+86138******00` |
/// | `+861012345678` (Beijing landline) | 10 | `+86101*****78` |
/// | `+86101234567` (9-digit landline) | 9 | `+8610*****67` |
/// | `+14155552671` (United States) | 10 | `+1415*****71` |
/// | `+8695588` (bank service number) | 5 | `+86***88` |
///
/// Only the national digits count, and at most half of them are shown, rounded down: 10 or
/// more show their first 3 and last 2; 8 or 9 their first 2 and last 2; 4 to 7 only their last
/// 2; 3 or fewer none. The first digits say what kind of line it is (a mobile's carrier
/// prefix, a landline's area code), the last two tell calls apart in a log; the rest, which
/// identifies the subscriber, is never shown. The same number gives the same text wherever it
/// is masked, so a log line, a verify report and a probe report can be compared.
///
/// The country code is kept, as `+` and its digits in front, like the key it hides: it
/// identifies no one (nearly every number in a deployment has the same one), a foreign number
/// stays recognisable as foreign, and the text reads as a key does in `tokenctl get` and in
/// exports. It is read from the key itself (country codes are prefix-free), so no default
/// country is needed to mask a key.
public enum MaskedNumber {
    /// Masks a canonical key (`+8613800138000` → `+86138******00`), as the responder's log
    /// lines and the verify report show it.
    ///
    /// Any other text is masked by the same rule, so a damaged key in a store never shows more:
    /// only its ASCII digits are kept, read as a country code and national digits when the text
    /// starts with `+` and an assigned country code, else all as national digits without `+`
    /// (`12345` → `***45`). Text without digits gives the empty string.
    public static func mask(key: String) -> String {
        var key = key
        return key.withUTF8 { masked(utf8: $0) }
    }

    /// Masks a number as someone typed it (the `tokenctl probe` argument): its canonical key
    /// under `countryCode` when it has one, so `13800138000` and `+86 138-0013-8000` both give
    /// `+86138******00`; otherwise its digits, by the rule of ``mask(key:)``.
    /// - Parameter countryCode: the default country of the normaliser, as in
    ///   ``PhoneNumberNormaliser/init(defaultCountryCode:)``.
    public static func mask(written: String, countryCode: Int = 86) -> String {
        if let normalised = try? PhoneNumberNormaliser(defaultCountryCode: countryCode).normalise(written) {
            return mask(key: normalised.key)
        }
        return mask(key: written)
    }

    /// How many leading and trailing national digits are shown: never more than half.
    static func shownDigits(nationalCount count: Int) -> (leading: Int, trailing: Int) {
        switch count {
        case 10...: (3, 2)
        case 8...9: (2, 2)
        case 4...7: (0, 2)
        default: (0, 0)
        }
    }

    /// Runs for every request's log line: plain loops rather than closures, which cost a fifth
    /// more here (docs/PERFORMANCE.md).
    private static func masked(utf8 text: UnsafeBufferPointer<UInt8>) -> String {
        var digitCount = 0
        for byte in text where byte.isASCIIDigit { digitCount += 1 }
        let plus = text.first == UInt8(ascii: "+")
        let countryLength = plus ? countryCodeLength(text.dropFirst(), digitCount: digitCount) : 0
        let nationalCount = digitCount - countryLength
        let (leading, trailing) = shownDigits(nationalCount: nationalCount)
        let length = (countryLength > 0 ? 1 : 0) + digitCount
        return String(unsafeUninitializedCapacity: length) { out in
            var written = 0
            if countryLength > 0 {
                out[0] = UInt8(ascii: "+")
                written = 1
            }
            var digitIndex = 0
            for byte in text where byte.isASCIIDigit {
                let national = digitIndex - countryLength
                let shown = national < leading || national >= nationalCount - trailing
                out[written] = shown ? byte : UInt8(ascii: "*")
                written += 1
                digitIndex += 1
            }
            return written
        }
    }

    /// The length of the assigned country code that `text` (after its `+`) starts with, when
    /// `text` is all digits and has national digits after the code; else 0.
    private static func countryCodeLength(_ text: UnsafeBufferPointer<UInt8>.SubSequence, digitCount: Int) -> Int {
        guard text.count == digitCount, let first = text.first, first != UInt8(ascii: "0") else { return 0 }
        var code = 0
        for (length, byte) in zip(1...3, text) {
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            if PhoneNumberNormaliser.isAssignedCountryCode(code) { return length < digitCount ? length : 0 }
        }
        return 0
    }
}
