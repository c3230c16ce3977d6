/// Why a written phone number could not be normalised.
///
/// Thrown by ``PhoneNumberNormaliser/normalise(_:)``. Neither the cases nor ``message``
/// carry the rejected input, so they are safe to log and to return to callers: a phone number
/// is personal data.
public enum InvalidPhoneNumber: Error, Sendable, Equatable {
    /// Nothing was written, or only whitespace.
    case empty
    /// The text contains a character that cannot be part of a phone number: a letter (other
    /// than an extension marker such as `ext` or `x`), a symbol, a control character such as
    /// NUL, an emoji, a `+` that is not in front of the number, or a second extension marker.
    case invalidCharacters
    /// Fewer digits than any number of that kind can have: for example no digits at all, a
    /// mobile number of fewer than 11 digits, a landline with fewer subscriber digits than its
    /// area uses (7 in an 8-digit city), or an international number of fewer than 8 digits.
    case tooShort
    /// More than the 15 digits that E.164 allows, longer than any number of that kind (for
    /// example a Chinese number of more than 11 national digits), an extension of more than
    /// ``PhoneNumberNormaliser/maximumExtensionLength`` digits, or more than
    /// ``PhoneNumberNormaliser/maximumInputLength`` characters of text.
    case tooLong
    /// Digits that do not form a number that can be dialled, such as an 11-digit number
    /// starting `10`, `11` or `12` or in a mobile range that is not allocated (`154…`), a
    /// Chinese area code that does not exist, a local landline number written without its area
    /// code, an unknown country code, or a default country code that does not exist.
    case notANumber

    /// A short English explanation, fit for a log line or an import report.
    ///
    /// It describes the problem only and never repeats the rejected number.
    public var message: String {
        switch self {
        case .empty:
            "number is empty"
        case .invalidCharacters:
            "number has letters or symbols that cannot be part of a phone number"
        case .tooShort:
            "number has too few digits to be a phone number"
        case .tooLong:
            "number is too long: more digits than a phone number can have, an extension of more than 10 digits, or more than 64 characters of text"
        case .notANumber:
            "number is not a valid phone number: check the country code, the area code of a landline, or the first digits of a mobile"
        }
    }
}
