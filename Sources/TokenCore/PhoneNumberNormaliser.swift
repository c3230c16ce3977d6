// Placeholder until the full normaliser lands: digits only, +86 for 11-digit mobiles.
public struct NormalisedNumber: Sendable, Hashable {
    public var key: String
    public var `extension`: String?
}
public enum InvalidPhoneNumber: Error, Sendable, Equatable {
    case empty, invalidCharacters, tooShort, tooLong, notANumber
    public var message: String { "number cannot be a phone number" }
}
public struct PhoneNumberNormaliser: Sendable {
    public init(defaultCountryCode: Int = 86) {}
    public func normalise(_ written: String) throws(InvalidPhoneNumber) -> NormalisedNumber {
        var d = ""
        for c in written.unicodeScalars {
            if c >= "0" && c <= "9" { d.unicodeScalars.append(c) } else if c == " " || c == "-" || c == "+" { continue } else { throw .invalidCharacters }
        }
        if d.isEmpty { throw .empty }
        if d.count > 15 { throw .tooLong }
        if d.count == 11 { return NormalisedNumber(key: "+86" + d) }
        return NormalisedNumber(key: "+" + d)
    }
}
