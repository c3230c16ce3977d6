import Testing
import TokenCore

@Suite("One masking rule for every number shown")
struct MaskedNumberTests {
    @Test(
        "exact outputs",
        arguments: [
            ("+8613800138000", "+86138******00"),  // mobile, 11 national digits
            ("+861012345678", "+86101*****78"),  // Beijing landline, 10
            ("+86101234567", "+8610*****67"),  // landline with a 7-digit subscriber number, 9
            ("+8675512345678", "+86755******78"),  // Shenzhen landline, 11
            ("+864001234567", "+86400*****67"),  // 400 service number, 10
            ("+14155552671", "+1415*****71"),  // United States, 10
            ("+85221234567", "+85221****67"),  // Hong Kong, 8
            ("+8695588", "+86***88"),  // bank service number, 5
            ("+8695588123", "+8695****23"),  // 8-digit 95 number
        ])
    func outputs(key: String, masked: String) {
        #expect(MaskedNumber.mask(key: key) == masked)
    }

    @Test(
        "never more than half of the national digits, each shown in its place",
        arguments: [(code: 86, length: 2), (code: 1, length: 1), (code: 852, length: 3)], Array(1...15))
    func atMostHalf(country: (code: Int, length: Int), nationalCount: Int) {
        let (countryCode, countryLength) = country
        let national = String(String("98765432109876543210".prefix(nationalCount)).reversed())
        let key = "+\(countryCode)" + national
        let masked = MaskedNumber.mask(key: key)
        #expect(masked.hasPrefix("+\(countryCode)"))
        let shown = Array(masked.dropFirst(1 + countryLength))
        #expect(shown.count == nationalCount)
        let digits = shown.filter { $0 != "*" }
        #expect(2 * digits.count <= nationalCount, "\(key) → \(masked)")
        if nationalCount <= 3 { #expect(digits.isEmpty, "\(key) → \(masked)") }
        // Every digit shown is the key's own digit in its place; a star hides every other one.
        for (character, original) in zip(shown, national) {
            #expect(character == "*" || character == original)
        }
    }

    @Test(
        "text that is not a key is masked by the same rule, digits only",
        arguments: [
            ("12345", "***45"), ("13800138000", "138******00"), ("+0012345678", "001*****78"),
            ("138 0013 8000", "138******00"), ("abc", ""), ("", ""), ("+", ""), ("+86", "**"),
        ])
    func notAKey(text: String, masked: String) {
        #expect(MaskedNumber.mask(key: text) == masked)
    }

    @Test(
        "a typed number shows as its key does",
        arguments: [
            ("13800138000", "+86138******00"), ("+86 138-0013-8000", "+86138******00"),
            ("0086 138 0013 8000", "+86138******00"), ("013800138000 转 8001", "+86138******00"),
            ("010-12345678", "+86101*****78"), ("1012345678", "+86101*****78"), ("95588", "+86***88"),
            ("+1 (415) 555-2671", "+1415*****71"),
        ])
    func written(text: String, masked: String) {
        #expect(MaskedNumber.mask(written: text) == masked)
        #expect(MaskedNumber.mask(written: text, countryCode: 86) == MaskedNumber.mask(key: key(text)))
    }

    @Test("a typed number is read with the given country")
    func writtenInAnotherCountry() {
        #expect(MaskedNumber.mask(written: "(415) 555-2671", countryCode: 1) == "+1415*****71")
        #expect(MaskedNumber.mask(written: "(415) 555-2671") == "+86415*****71")  // a landline under 86
    }

    @Test("a typed number that is not a phone number still shows at most half its digits")
    func writtenInvalid() {
        #expect(MaskedNumber.mask(written: "62345678") == "62****78")  // a local number without area code
        #expect(MaskedNumber.mask(written: "call me") == "")
    }

    private func key(_ text: String) -> String {
        (try? PhoneNumberNormaliser().normalise(text).key) ?? text
    }
}
