/// Turns a phone number as people and systems write it into the canonical key of the token store.
///
/// One normaliser serves both sides of the store: at import, for the numbers in the integrator's
/// CRM export, and at lookup, for the `number` that Udesk posts (a JSON string, or a JSON integer
/// handed over as its decimal digits). Because both sides go through the same function, every
/// written form of a line meets the same key. See ``normalise(_:)`` for the rules.
///
/// The normaliser is a small value with no state beyond its configuration: create one and share
/// it freely across threads. It uses the Swift standard library only, allocates nothing for
/// national keys (they fit in a small string), and reads at most
/// ``maximumInputLength`` Unicode scalars of any input.
public struct PhoneNumberNormaliser: Sendable {
    /// The country whose national numbers are assumed when a number has neither `+` nor `00`
    /// in front of it. `86` (China) by default.
    ///
    /// The Chinese rules (mobiles, landlines with or without the trunk `0`, service numbers,
    /// a bare `86` in front, IP-dialing prefixes) apply when this is `86`. For any other
    /// country only the generic rules apply: a trunk `0` is dropped where that country uses
    /// one, and the result must be 8 to 15 digits long with the country code. A value that is
    /// not an assigned country code leaves only international numbers (`+` or `00`) valid.
    public let defaultCountryCode: Int

    /// Inputs longer than this many Unicode scalars are rejected as ``InvalidPhoneNumber/tooLong``
    /// before anything else is looked at.
    public static let maximumInputLength = 64

    /// Extensions with more digits than this are rejected as ``InvalidPhoneNumber/tooLong``.
    public static let maximumExtensionLength = 10

    /// Creates a normaliser.
    /// - Parameter defaultCountryCode: the country code assumed for numbers written without
    ///   `+` or `00`; `86` (China) unless given.
    public init(defaultCountryCode: Int = 86) {
        self.defaultCountryCode = defaultCountryCode
    }

    /// Normalises a written phone number into its canonical key and its extension.
    ///
    /// The key is E.164 with a leading `+`: `+`, the country code, then the national
    /// significant number (the number without trunk prefix `0`), ASCII digits only. The rules
    /// below define it; they are applied in this order.
    ///
    /// **1. Characters.** The input may be at most ``maximumInputLength`` (64) Unicode scalars,
    /// else ``InvalidPhoneNumber/tooLong``. Empty or whitespace-only input is
    /// ``InvalidPhoneNumber/empty``. Then every character must be one of:
    /// - a digit, ASCII `0`–`9` or full-width `０`–`９` (U+FF10–FF19);
    /// - whitespace (including the ideographic space U+3000, no-break spaces, tabs and line
    ///   breaks, zero-width spaces and the byte-order mark), ignored;
    /// - a separator, ignored: `-` `.` `(` `)` `/` `[` `]`, the full-width forms `－` `．`
    ///   `（` `）` `／` `［` `］`, the dashes U+2010–2015, the minus sign U+2212, the small
    ///   hyphen U+FE63, the prolonged sound mark `ー` and the soft hyphen;
    /// - one `+` or full-width `＋`, in front of every digit (`(+86) 138…` is fine);
    /// - `tel:` (any case) at the very start, as in RFC 3966 `tel:+86-10-1234-5678`;
    /// - one label at the very start, as CRMs write them: `手机`, `手机号`, `手机号码`, `电话`,
    ///   `电话号码`, `联系电话`, `座机`, `固话` (and the traditional `手機`, `手機號`, `手機號碼`,
    ///   `電話`, `電話號碼`, `聯繫電話`, `聯絡電話`, `座機`, `固話`), or `Tel`, `Phone`, `Mobile`,
    ///   `Mob`, `M`, `T` in any case, optionally with a `.`; the label must be followed by `:`,
    ///   `：` or a space (`手机：13687654321`, `电话: 021-62345678`, `Tel 0571…`), and is
    ///   dropped. No other word is a label (`Fax:` and `Telephone:` are rejected), a label
    ///   without `:`, `：` or a space after it is rejected (`手机13687654321`), and so is one
    ///   anywhere but in front;
    /// - one extension marker after at least one digit: `转`, `轉`, `分机`, `分機`, `ext`,
    ///   `extn`, `extension` (any case, optionally followed by `.` or `:`), `x`, `X`, the
    ///   full-width `ｘ` `Ｘ`, `#`, `＃`, `;ext=`, or a run of commas `,` `，` (one is the
    ///   extension marker; more are the pauses a dialer waits before dialling the extension,
    ///   as in `021-62345678,,801`). Every digit after the marker belongs to the extension,
    ///   which is returned in ``NormalisedNumber/extension`` (`nil` if the marker has no digits
    ///   after it, as in a trailing `#`) and never takes part in the key. It may have up to
    ///   ``maximumExtensionLength`` (10) digits, else ``InvalidPhoneNumber/tooLong``;
    /// - a range mark `~`, `～` or `〜` after the number and before any extension, followed by
    ///   the end of a range of consecutive lines: 1 up to as many digits as the number has,
    ///   which replace its last digits (`0512-6234 5678～9` is …5678 and …5679). Nothing but
    ///   whitespace and separators may follow those digits. The key is the range's first
    ///   number and ``NormalisedNumber/isRange`` is `true`; the rest of the range is not keyed
    ///   (an import reports such rows). A mark with no digits after it is
    ///   ``InvalidPhoneNumber/invalidCharacters``, more digits than the number
    ///   ``InvalidPhoneNumber/tooLong``.
    ///
    /// Anything else (letters, other symbols, NUL and other control characters, emoji, a `+`
    /// after a digit, a second extension marker) is ``InvalidPhoneNumber/invalidCharacters``.
    /// Letters are never read as keypad digits (`1-800-FLOWERS` is rejected). No digits at all
    /// is ``InvalidPhoneNumber/tooShort``; more than 19 is ``InvalidPhoneNumber/tooLong``.
    ///
    /// **2. International numbers.** A number written with `+` (or `+00`, a common mistake) or
    /// starting `00` (the international prefix dialled from China) is `+`, a country code, then
    /// a national number. The country code is the one of the codes assigned by the ITU (as
    /// listed by libphonenumber; they are prefix-free) that the digits start with; none is
    /// ``InvalidPhoneNumber/notANumber`` (``InvalidPhoneNumber/tooShort`` if fewer than 3
    /// digits follow, too few to tell).
    /// - Country code 86 is China whatever the default country is. One trunk `0` after it is
    ///   dropped (`+86 (0)10 1234 5678` and `0086 010 12345678` → `+861012345678`), and the
    ///   rest must be one of the Chinese national numbers of section 3 as it stands: readings
    ///   3 and 4 there (a bare `86`, IP-dialing prefixes) do not apply after `+86`.
    /// - Any other country is not validated against its numbering plan. If the country uses `0`
    ///   as its trunk prefix (United Kingdom, Germany, Japan, Australia, Taiwan, …) one `0`
    ///   right after the country code is dropped, as in `+44 (0)20 7946 0958` →
    ///   `+442079460958`, and a national number that still starts with `0` is
    ///   ``InvalidPhoneNumber/notANumber``. Where `0` is not a trunk prefix it is kept, since it
    ///   belongs to the number (Italy: `+39 06 1234 5678` → `+390612345678`). Country code plus
    ///   national number must then be 8 to 15 digits, else ``InvalidPhoneNumber/tooShort`` or
    ///   ``InvalidPhoneNumber/tooLong``.
    ///
    /// **3. Chinese national numbers** (default country 86, no `+` or `00`). The national
    /// significant numbers accepted, each keyed as `+86` followed by it, are those that
    /// libphonenumber's metadata for China says can exist. The tables are in
    /// `ChineseNumberingPlan.swift`, generated from that metadata by
    /// `scripts/gen-cn-numbering.py`, which names the metadata version:
    /// - **mobile**: 11 digits in an allocated range (`13x`, `145`, `147`, `15[0-35-9]`, `1610`,
    ///   `16[25-7]`, `17[0-35-8]`, `17400`–`17405`, `18x`, `19[0-35-9]` as of metadata 9.0.43),
    ///   for example `13812345678` → `+8613812345678`; `15412345678` is not a number;
    /// - **landline**: an area code that exists, then a subscriber number of the length that
    ///   area uses: 8 digits in the large cities (Beijing `10`, `2x`, Suzhou `512`, Shenzhen
    ///   `755`, …), 7 in the others (Taiyuan `351`, …), either in a few (`433`, `435`, `754`,
    ///   `851`). Area codes are `10`, `20`–`29` but not `26` (two digits), or three digits
    ///   starting `3`–`9`; they are prefix-free, so `010-12345678` → `+861012345678` and
    ///   `0755-12345678` → `+8675512345678`, while `0755-6234567` (7 digits in Shenzhen) and
    ///   `+86 26 6234 5678` (no area 26) are refused. Only the length of the subscriber number
    ///   is checked, not its first digits, except for the ranges the metadata leaves out of an
    ///   area (Beijing's and Shanghai's `800…`: `010 800 12345` is not a number); local service
    ///   numbers under an area code (`021` `96xxx`) are not accepted;
    /// - **service numbers** without an area code, toll-free and shared-cost: `400` or `800`
    ///   and 7 digits (`400-123-4567` → `+864001234567`), `950` and 7 or 8 digits;
    /// - **95 short numbers**: nationwide service numbers of 5 or 6 digits starting `95`, kept as
    ///   they are: `95588` → `+8695588`, as libphonenumber's short-number metadata knows them.
    ///   They are what a bank's calls show as caller ID. Other short numbers (`10086`, `12345`,
    ///   `110`, local `96xxx`) are not customer lines and are rejected.
    ///
    /// The written digits are tried in this order, and the first reading that gives one of the
    /// numbers above wins:
    /// 1. the digits as they are: covers numbers written without the trunk `0`, which is what a
    ///    JSON integer gives for a landline (`1012345678`, `75512345678`);
    /// 2. after one trunk `0`: `01012345678`, `013812345678` (a mobile with a trunk `0`);
    /// 3. after a bare country code `86`, and then one optional trunk `0`, when what follows is
    ///    a mobile, landline or 400/800 number (`8613812345678`, `8601012345678`). Step 1
    ///    comes first, so a number that is already valid never loses a leading `86`
    ///    (`8612345678` is the landline `+868612345678`);
    /// 4. after an IP-dialing (carrier selection) prefix, and then one optional trunk `0`, when
    ///    what follows is a mobile or landline number: `17951 0755 12345678` →
    ///    `+8675512345678`. The prefixes are libphonenumber's (the group of CN's
    ///    `national_prefix_for_parsing`: `11xxx`, `12xxx` and `179xx`, which covers `17951`,
    ///    `17911`, `17909`, `17969`, `17908`, `17910`, `17950`, `12593`, `11808`, …) and China
    ///    Unicom's `10193`, which libphonenumber lacks. These forms start `1` and are at least
    ///    14 digits long, so they never collide with readings 1–3.
    ///
    /// A foreign number needs its `+` or `00`: without them the digits are read as Chinese,
    /// so the JSON integer `442079460958` is ``InvalidPhoneNumber/tooLong``, not London.
    ///
    /// A local landline number without its area code (`62345678`) is rejected as
    /// ``InvalidPhoneNumber/notANumber``: the same 7 or 8 digits can exist under each of
    /// China's hundreds of area codes, so it cannot be matched to one customer, and guessing
    /// an area would file the number under someone else's line.
    ///
    /// When no reading fits, the error describes the digits after at most one trunk `0`:
    /// - fewer than 5 digits, or a number starting `13`–`19` with fewer than 11 digits:
    ///   ``InvalidPhoneNumber/tooShort``; with 11 digits in a range that is not allocated:
    ///   ``InvalidPhoneNumber/notANumber``;
    /// - more than 11 digits: ``InvalidPhoneNumber/tooLong``;
    /// - written with `+86`, `0086` or a trunk `0`, so certainly a landline or service number
    ///   when it does not start `1[3-9]`: for an existing area code (or service prefix),
    ///   ``InvalidPhoneNumber/tooShort`` when shorter than the longest length it uses
    ///   (`0755-6234567`), else ``InvalidPhoneNumber/tooLong`` (`+86 10 123456789`,
    ///   `0351-71234567`); ``InvalidPhoneNumber/notANumber`` when there is no such area code
    ///   (`+86 26 6234 5678`) or it starts `0`, `11` or `12`;
    /// - anything else, such as the bare `10123456789` or `12012345678`, or a local number
    ///   without area code: ``InvalidPhoneNumber/notANumber``.
    ///
    /// **4. Other default countries.** With a default country other than 86, a number without
    /// `+` or `00` loses one trunk `0` if that country uses it and is then checked as in
    /// section 2.
    ///
    /// The same rules serve import and lookup: a number refused here is an invalid row at
    /// import and a 422 at lookup, one accepted but not stored is a 404.
    ///
    /// Normalising is total: every input returns a key or throws, and a key normalises to
    /// itself. Where these rules differ from Google's libphonenumber (`parse(input, "CN")`),
    /// `Tests/Fixtures/numbers.tsv` says so row by row.
    ///
    /// - Parameter written: the number as written: from a CSV cell, a JSON string, or the
    ///   decimal digits of a JSON integer.
    /// - Returns: the canonical key and the extension, if one was written.
    /// - Throws: ``InvalidPhoneNumber`` saying why the input is not a number that can be keyed.
    public func normalise(_ written: String) throws(InvalidPhoneNumber) -> NormalisedNumber {
        let scanned = try Scanner.scan(written)
        let (countryCode, national) = try resolve(scanned.digits, hasPlus: scanned.hasPlus)
        let key = Self.key(countryCode: countryCode, national: national)
        let extensionDigits = scanned.extensionDigits.isEmpty ? nil : scanned.extensionDigits.string()
        return NormalisedNumber(key: key, extension: extensionDigits, isRange: scanned.isRange)
    }
}

// MARK: - Resolving the digits into country code and national number

extension PhoneNumberNormaliser {
    /// The Chinese country code: the one whose national numbers get the detailed rules.
    private static let china = 86

    /// E.164 numbers are at most 15 digits long, country code included.
    private static let maximumE164Digits = 15

    /// The shortest E.164 number accepted for countries other than China.
    private static let minimumForeignE164Digits = 8

    /// The longest Chinese national significant number (a mobile, or a 3-digit area code with
    /// an 8-digit subscriber number).
    private static let maximumChineseNationalDigits = 11

    /// The shortest Chinese national significant number (a `95xxx` service number).
    private static let minimumChineseNationalDigits = 5

    /// Splits the digits into country code and national significant number (sections 2–4).
    private func resolve(_ digits: DigitString, hasPlus: Bool) throws(InvalidPhoneNumber) -> (Int, DigitString) {
        if hasPlus {
            // "+0086…" is a frequent mix of the two international notations.
            let international = digits.hasPrefix(0, length: 2) ? digits.dropFirst(2) : digits
            return try Self.resolveInternational(international)
        }
        if digits.hasPrefix(0, length: 2) {
            return try Self.resolveInternational(digits.dropFirst(2))
        }
        if defaultCountryCode == Self.china {
            return (Self.china, try Self.resolveChineseDomestic(digits))
        }
        guard Self.isAssignedCountryCode(defaultCountryCode) else { throw .notANumber }
        return (defaultCountryCode, try Self.resolveNational(digits, countryCode: defaultCountryCode))
    }

    /// Digits written after `+` or `00`: a country code, then the national number.
    private static func resolveInternational(_ digits: DigitString) throws(InvalidPhoneNumber) -> (Int, DigitString) {
        guard let (countryCode, length) = countryCode(prefixing: digits) else {
            // With fewer than 3 digits not every country code could be tried.
            throw digits.count < 3 ? .tooShort : .notANumber
        }
        let national = digits.dropFirst(length)
        if countryCode == china {
            return (china, try resolveChineseExplicit(national))
        }
        return (countryCode, try resolveNational(national, countryCode: countryCode))
    }

    /// A national number of a country other than China, without deep validation.
    private static func resolveNational(_ digits: DigitString, countryCode: Int) throws(InvalidPhoneNumber)
        -> DigitString
    {
        var national = digits
        let usesTrunkZero = usesTrunkPrefixZero(countryCode)
        if usesTrunkZero && national.digit(at: 0) == 0 {
            national = national.dropFirst(1)
        }
        let total = decimalLength(of: countryCode) + national.count
        if national.isEmpty || total < minimumForeignE164Digits { throw .tooShort }
        if total > maximumE164Digits { throw .tooLong }
        // A second trunk 0 would make the key change when normalised again.
        if usesTrunkZero && national.digit(at: 0) == 0 { throw .notANumber }
        return national
    }

    /// A Chinese number after `+86` or `0086`: one optional trunk `0`, then a national number.
    private static func resolveChineseExplicit(_ digits: DigitString) throws(InvalidPhoneNumber) -> DigitString {
        let national = digits.digit(at: 0) == 0 ? digits.dropFirst(1) : digits
        if ChineseNumberKind(national) != nil { return national }
        throw chineseError(national, explicitlyNational: true)
    }

    /// A Chinese number written without `+` or `00` (section 3, readings 1–4).
    private static func resolveChineseDomestic(_ digits: DigitString) throws(InvalidPhoneNumber) -> DigitString {
        // 1. As written (also the JSON-integer form of a landline, which lost its trunk 0).
        if ChineseNumberKind(digits) != nil { return digits }
        // 2. After a trunk 0 ("00" was handled as international before).
        let startsWithTrunkZero = digits.digit(at: 0) == 0
        if startsWithTrunkZero {
            let national = digits.dropFirst(1)
            if ChineseNumberKind(national) != nil { return national }
        }
        // 3. After a bare country code 86, and an optional trunk 0.
        if digits.hasPrefix(86, length: 2),
            let national = afterOptionalTrunkZero(digits.dropFirst(2), where: { $0.isLong })
        {
            return national
        }
        // 4. After an IP-dialing prefix, and an optional trunk 0.
        if digits.count > 5 && isIPDialingPrefix(digits.prefix(5)),
            let national = afterOptionalTrunkZero(digits.dropFirst(5), where: { $0.isSubscriberLine })
        {
            return national
        }
        let national = startsWithTrunkZero ? digits.dropFirst(1) : digits
        throw chineseError(national, explicitlyNational: startsWithTrunkZero)
    }

    /// `digits`, or `digits` without a leading trunk `0`, when that is a Chinese number whose
    /// kind satisfies `accept`.
    private static func afterOptionalTrunkZero(
        _ digits: DigitString, where accept: (ChineseNumberKind) -> Bool
    ) -> DigitString? {
        if let kind = ChineseNumberKind(digits), accept(kind) { return digits }
        guard digits.digit(at: 0) == 0 else { return nil }
        let national = digits.dropFirst(1)
        if let kind = ChineseNumberKind(national), accept(kind) { return national }
        return nil
    }

    /// The error for Chinese national digits that match no kind of number (end of section 3).
    /// - Parameter explicitlyNational: the digits followed `+86`, `0086` or a trunk `0`.
    private static func chineseError(_ national: DigitString, explicitlyNational: Bool) -> InvalidPhoneNumber {
        let count = national.count
        if count > maximumChineseNationalDigits { return .tooLong }
        if count < minimumChineseNationalDigits { return .tooShort }
        let first = national.digit(at: 0)
        let second = national.digit(at: 1)
        if first == 1 && (3...9).contains(second) {
            // Shaped like a mobile: too short, or 11 digits in a range that is not allocated.
            return count < 11 ? .tooShort : .notANumber
        }
        guard explicitlyNational else { return .notANumber }
        let areaLength: Int
        switch (first, second) {
        case (1, 0), (2, _): areaLength = 2
        case (3...9, _): areaLength = 3
        default: return .notANumber  // "0…", "11…", "12…"
        }
        let subscriberLengths = ChineseNumberingPlan.subscriberLengths(areaCode: national.prefix(areaLength))
        let serviceLengths = ChineseNumberingPlan.serviceLengths(prefix: national.prefix(3))
        if subscriberLengths != 0 {
            // The right length, yet no landline: a range that is not assigned (Beijing's 800…).
            if ChineseNumberKind.allows(subscriberLengths, count - areaLength) { return .notANumber }
            return lengthError(count - areaLength, allowed: subscriberLengths)
        }
        if serviceLengths != 0 {
            return lengthError(count, allowed: serviceLengths)
        }
        return .notANumber  // no such area code
    }

    /// ``InvalidPhoneNumber/tooShort`` when `length` is shorter than the longest of the `allowed`
    /// lengths (a bit mask), else ``InvalidPhoneNumber/tooLong``.
    private static func lengthError(_ length: Int, allowed: UInt16) -> InvalidPhoneNumber {
        let longest = UInt16.bitWidth - 1 - allowed.leadingZeroBitCount
        return length < longest ? .tooShort : .tooLong
    }

    /// Whether five digits are an IP-dialing (long-distance carrier selection) prefix of reading 4:
    /// libphonenumber's (`11xxx`, `12xxx`, `179xx`), and China Unicom's `10193`, which
    /// libphonenumber does not strip.
    private static func isIPDialingPrefix(_ prefix: UInt64) -> Bool {
        prefix == 10193 || ChineseNumberingPlan.isIPDialingPrefix(prefix)
    }

    /// Builds `+`, the country code and the national digits, without intermediate strings.
    private static func key(countryCode: Int, national: DigitString) -> String {
        let countryLength = decimalLength(of: countryCode)
        let length = 1 + countryLength + national.count
        return String(unsafeUninitializedCapacity: length) { buffer in
            buffer[0] = UInt8(ascii: "+")
            var remaining = countryCode
            var index = countryLength
            while index >= 1 {
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
                index -= 1
            }
            national.write(into: buffer, at: 1 + countryLength)
            return length
        }
    }

    /// The number of decimal digits of a country code (1 to 3).
    private static func decimalLength(of countryCode: Int) -> Int {
        countryCode < 10 ? 1 : countryCode < 100 ? 2 : 3
    }
}

// MARK: - Chinese numbering plan

/// The kinds of Chinese national significant numbers that have a key (section 3), checked
/// against the tables of ``ChineseNumberingPlan``.
private enum ChineseNumberKind {
    /// 11 digits in an allocated mobile range.
    case mobile
    /// An existing area code (`10`, `2x`, or `3xx`–`9xx`) and a subscriber number of a length
    /// that area uses (7 or 8 digits).
    case landline
    /// A nationwide toll-free or shared-cost number: `400`, `800` or `950` and 7 (or, for
    /// `950`, 8) digits.
    case service
    /// `95` and 3 or 4 digits.
    case short

    /// Classifies national digits (without trunk `0`), or returns `nil` for none of the kinds.
    init?(_ national: DigitString) {
        let count = national.count
        let first = national.digit(at: 0)
        let second = national.digit(at: 1)
        switch first {
        case 1:
            if (3...9).contains(second) {
                guard count == 11, ChineseNumberingPlan.isAllocatedMobile(national.value) else { return nil }
                self = .mobile
            } else if second == 0 && Self.isLandline(national, areaLength: 2) {
                self = .landline
            } else {
                return nil
            }
        case 2:
            guard Self.isLandline(national, areaLength: 2) else { return nil }
            self = .landline
        case 3...9:
            if first == 9 && second == 5 && Self.allows(ChineseNumberingPlan.shortNumberLengths, count) {
                self = .short
            } else if Self.allows(ChineseNumberingPlan.serviceLengths(prefix: national.prefix(3)), count) {
                self = .service
            } else if Self.isLandline(national, areaLength: 3) {
                self = .landline
            } else {
                return nil
            }
        default:
            return nil
        }
    }

    /// Whether the first `areaLength` digits are an area code, the rest has a length it uses,
    /// and the number is not in a range that is no landline (Beijing's `800…`).
    private static func isLandline(_ national: DigitString, areaLength: Int) -> Bool {
        let lengths = ChineseNumberingPlan.subscriberLengths(areaCode: national.prefix(areaLength))
        return allows(lengths, national.count - areaLength)
            && !ChineseNumberingPlan.isUnassignedLandline(national.value, count: national.count)
    }

    /// Whether the bit mask `lengths` has bit `length` set.
    static func allows(_ lengths: UInt16, _ length: Int) -> Bool {
        length > 0 && length < UInt16.bitWidth && lengths & (1 << UInt16(length)) != 0
    }

    /// Numbers that a bare `86` may precede: all but the `95` short numbers.
    var isLong: Bool { self != .short }

    /// Numbers that an IP-dialing prefix may precede: mobiles and landlines.
    var isSubscriberLine: Bool { self == .mobile || self == .landline }
}

// MARK: - Country codes

extension PhoneNumberNormaliser {
    /// The country code that `digits` start with, and its length, or `nil`.
    /// Country codes are prefix-free, so at most one length matches.
    private static func countryCode(prefixing digits: DigitString) -> (Int, Int)? {
        // No country code starts with 0 (and "0" + "1" must not read as code 1).
        guard digits.digit(at: 0) > 0 else { return nil }
        for length in 1...3 where digits.count >= length {
            let candidate = Int(digits.prefix(length))
            if isAssignedCountryCode(candidate) { return (candidate, length) }
        }
        return nil
    }

    /// Whether `code` is an assigned E.164 country code.
    ///
    /// The list is libphonenumber's (`phonenumbers.COUNTRY_CODE_TO_REGION_CODE`), printed by
    /// `python3 Tests/Integration/gen_number_forms.py --swift-tables`. Internal: ``MaskedNumber``
    /// finds a key's country code with it.
    static func isAssignedCountryCode(_ code: Int) -> Bool {
        switch code {
        case 1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
            51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90,
            91, 92, 93, 94, 95, 98,
            211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230,
            231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
            247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263,
            264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299,
            350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375,
            376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389,
            420, 421, 423,
            500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595,
            596, 597, 598, 599,
            670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687,
            688, 689, 690, 691, 692,
            800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888,
            960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976,
            977, 979, 992, 993, 994, 995, 996, 998:
            true
        default:
            false
        }
    }

    /// Whether the country dials `0` as its trunk (national) prefix, so that a `0` right after
    /// the country code is that prefix and not part of the number.
    ///
    /// From libphonenumber's metadata (`national_prefix == "0"`), printed by
    /// `python3 Tests/Integration/gen_number_forms.py --swift-tables`.
    private static func usesTrunkPrefixZero(_ code: Int) -> Bool {
        switch code {
        case 20, 27, 31, 32, 33, 40, 41, 43, 44, 46, 49, 51, 53, 54, 55, 57, 58, 60, 61, 62,
            63, 64, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
            211, 212, 213, 218, 231, 232, 233, 234, 243, 249, 250, 251, 252, 254, 255, 256,
            260, 261, 262, 263, 264, 265, 291,
            353, 355, 358, 359, 370, 373, 374, 377, 380, 381, 382, 383, 385, 386, 387, 389,
            421, 423,
            508, 590, 591, 593, 594, 595, 596, 598,
            686,
            850, 855, 856, 880, 886,
            961, 962, 963, 964, 966, 967, 970, 971, 972, 976, 977, 994, 995, 996:
            true
        default:
            false
        }
    }
}

// MARK: - Scanning the written form

/// The digits found in a written number, before any interpretation.
private struct ScannedNumber {
    /// The digits before the extension marker.
    var digits = DigitString()
    /// The digits after the extension marker.
    var extensionDigits = DigitString()
    /// Whether a `+` came before the digits.
    var hasPlus = false
    /// Whether a range end (`～9`) followed the digits.
    var isRange = false
}

/// Section 1 of ``PhoneNumberNormaliser/normalise(_:)``: characters to digits.
private enum Scanner {
    static func scan(_ written: String) throws(InvalidPhoneNumber) -> ScannedNumber {
        let limit = PhoneNumberNormaliser.maximumInputLength
        // A scalar is at most 4 UTF-8 bytes: longer inputs are too long without a look.
        if written.utf8.count > 4 * limit { throw .tooLong }
        let scalars = written.unicodeScalars
        var scalarCount = 0
        for _ in scalars {
            scalarCount += 1
            if scalarCount > limit { throw .tooLong }
        }

        var result = ScannedNumber()
        var sawSignificant = false  // anything but whitespace
        var inExtension = false
        var digitsOverflowed = false
        var index = scalars.startIndex
        let end = scalars.endIndex
        while index < end {
            let value = scalars[index].value
            if let digit = digitValue(value) {
                sawSignificant = true
                if inExtension {
                    if result.extensionDigits.count >= PhoneNumberNormaliser.maximumExtensionLength
                        || !result.extensionDigits.append(digit)
                    {
                        digitsOverflowed = true
                    }
                } else if !result.digits.append(digit) {
                    digitsOverflowed = true
                }
                index = scalars.index(after: index)
                continue
            }
            if isWhitespace(value) {
                index = scalars.index(after: index)
                continue
            }
            if !sawSignificant,
                let next = match(utf8: "tel:", in: written.utf8, at: index) ?? labelEnd(in: written, at: index)
            {
                sawSignificant = true
                index = next
                continue
            }
            sawSignificant = true
            if isSeparator(value) {
                index = scalars.index(after: index)
                continue
            }
            if value == 0x2B || value == 0xFF0B {  // + ＋
                guard !result.hasPlus, result.digits.isEmpty, !inExtension else { throw .invalidCharacters }
                result.hasPlus = true
                index = scalars.index(after: index)
                continue
            }
            if let next = extensionMarkerEnd(in: written, at: index) {
                guard !inExtension, !result.digits.isEmpty else { throw .invalidCharacters }
                inExtension = true
                index = next
                continue
            }
            if value == 0x7E || value == 0xFF5E || value == 0x301C {  // ~ ～ 〜
                guard !inExtension, !result.digits.isEmpty else { throw .invalidCharacters }
                try scanRangeEnd(scalars[scalars.index(after: index)...], digits: result.digits.count)
                result.isRange = true
                break
            }
            throw .invalidCharacters
        }
        if !sawSignificant { throw .empty }
        if result.digits.isEmpty { throw .tooShort }
        if digitsOverflowed { throw .tooLong }
        return result
    }

    /// The value of an ASCII or full-width digit.
    private static func digitValue(_ value: UInt32) -> UInt8? {
        switch value {
        case 0x30...0x39: UInt8(truncatingIfNeeded: value - 0x30)
        case 0xFF10...0xFF19: UInt8(truncatingIfNeeded: value - 0xFF10)
        default: nil
        }
    }

    /// Checks what follows a range mark: whitespace, separators and 1 up to `digits` digits (the
    /// last digits of the range's last number), and nothing else.
    private static func scanRangeEnd(_ rest: Substring.UnicodeScalarView, digits: Int) throws(InvalidPhoneNumber) {
        var count = 0
        for scalar in rest {
            let value = scalar.value
            if digitValue(value) != nil {
                count += 1
            } else if !isWhitespace(value) && !isSeparator(value) {
                throw .invalidCharacters
            }
        }
        if count == 0 { throw .invalidCharacters }
        if count > digits { throw .tooLong }
    }

    /// If a label that CRMs put before a number starts at `index` (`手机：`, `电话:`, `Tel `,
    /// `Mobile:`…; see ``PhoneNumberNormaliser/normalise(_:)``), the index just after it: after
    /// its `:`, `：` or the first whitespace character, which must follow the label.
    private static func labelEnd(in written: String, at index: String.Index) -> String.Index? {
        let utf8 = written.utf8
        let afterWord: String.Index?
        var latin = false
        switch written.unicodeScalars[index].value {
        case 0x624B:  // 手
            afterWord =
                match(utf8: "手机号码", in: utf8, at: index) ?? match(utf8: "手机号", in: utf8, at: index)
                ?? match(utf8: "手机", in: utf8, at: index) ?? match(utf8: "手機號碼", in: utf8, at: index)
                ?? match(utf8: "手機號", in: utf8, at: index) ?? match(utf8: "手機", in: utf8, at: index)
        case 0x7535:  // 电
            afterWord = match(utf8: "电话号码", in: utf8, at: index) ?? match(utf8: "电话", in: utf8, at: index)
        case 0x96FB:  // 電
            afterWord = match(utf8: "電話號碼", in: utf8, at: index) ?? match(utf8: "電話", in: utf8, at: index)
        case 0x8054:  // 联
            afterWord = match(utf8: "联系电话", in: utf8, at: index)
        case 0x806F:  // 聯
            afterWord = match(utf8: "聯繫電話", in: utf8, at: index) ?? match(utf8: "聯絡電話", in: utf8, at: index)
        case 0x5EA7:  // 座
            afterWord = match(utf8: "座机", in: utf8, at: index) ?? match(utf8: "座機", in: utf8, at: index)
        case 0x56FA:  // 固
            afterWord = match(utf8: "固话", in: utf8, at: index) ?? match(utf8: "固話", in: utf8, at: index)
        case 0x54, 0x74:  // T t
            latin = true
            afterWord = match(utf8: "tel", in: utf8, at: index) ?? match(utf8: "t", in: utf8, at: index)
        case 0x50, 0x70:  // P p
            latin = true
            afterWord = match(utf8: "phone", in: utf8, at: index)
        case 0x4D, 0x6D:  // M m
            latin = true
            afterWord =
                match(utf8: "mobile", in: utf8, at: index) ?? match(utf8: "mob", in: utf8, at: index)
                ?? match(utf8: "m", in: utf8, at: index)
        default:
            return nil
        }
        guard var position = afterWord else { return nil }
        let scalars = written.unicodeScalars
        if latin, position < scalars.endIndex, scalars[position].value == 0x2E {  // "Tel.", "Mob."
            position = scalars.index(after: position)
        }
        guard position < scalars.endIndex else { return nil }
        let value = scalars[position].value
        guard value == 0x3A || value == 0xFF1A || isWhitespace(value) else { return nil }  // : ：
        return scalars.index(after: position)
    }

    /// Unicode White_Space, plus the invisible zero-width space, word joiner and BOM.
    private static func isWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200B, 0x2028, 0x2029, 0x202F,
            0x205F, 0x2060, 0x3000, 0xFEFF:
            true
        default:
            false
        }
    }

    /// Punctuation that groups digits and is ignored.
    private static func isSeparator(_ value: UInt32) -> Bool {
        switch value {
        case 0x28, 0x29,  // ( )
            0x2D, 0x2E, 0x2F,  // - . /
            0x5B, 0x5D,  // [ ]
            0xAD,  // soft hyphen
            0x2010...0x2015,  // hyphens and dashes
            0x2212,  // minus sign
            0x30FC,  // ー
            0xFE63,  // small hyphen-minus
            0xFF08, 0xFF09,  // （ ）
            0xFF0D, 0xFF0E, 0xFF0F,  // － ． ／
            0xFF3B, 0xFF3D:  // ［ ］
            true
        default:
            false
        }
    }

    /// If an extension marker starts at `index`, the index just after it.
    private static func extensionMarkerEnd(in written: String, at index: String.Index) -> String.Index? {
        let scalars = written.unicodeScalars
        let next = scalars.index(after: index)
        switch scalars[index].value {
        case 0x8F6C, 0x8F49,  // 转 轉
            0x23, 0xFF03,  // # ＃
            0x78, 0x58, 0xFF58, 0xFF38:  // x X ｘ Ｘ
            return next
        case 0x2C, 0xFF0C:  // , ，: a run of them is a dialer's pauses before the extension
            var end = next
            while end < scalars.endIndex, scalars[end].value == 0x2C || scalars[end].value == 0xFF0C {
                end = scalars.index(after: end)
            }
            return end
        case 0x5206:  // 分, then 机 or 機
            guard next < scalars.endIndex else { return nil }
            let second = scalars[next].value
            return second == 0x673A || second == 0x6A5F ? scalars.index(after: next) : nil
        case 0x3B:  // ;ext=
            return match(utf8: ";ext=", in: written.utf8, at: index)
        case 0x65, 0x45:  // e E: ext, extn, extension
            guard
                let afterWord = match(utf8: "extension", in: written.utf8, at: index)
                    ?? match(utf8: "extn", in: written.utf8, at: index)
                    ?? match(utf8: "ext", in: written.utf8, at: index)
            else { return nil }
            if afterWord < scalars.endIndex {
                let punctuation = scalars[afterWord].value
                if punctuation == 0x2E || punctuation == 0x3A {  // . :
                    return scalars.index(after: afterWord)
                }
            }
            return afterWord
        default:
            return nil
        }
    }

    /// If `word` is written at `index` (ASCII letters in any case), the index after it.
    private static func match(utf8 word: StaticString, in utf8: String.UTF8View, at index: String.Index)
        -> String.Index?
    {
        word.withUTF8Buffer { bytes -> String.Index? in
            var position = index
            for byte in bytes {
                guard position < utf8.endIndex else { return nil }
                var value = utf8[position]
                if (0x41...0x5A).contains(value) { value += 0x20 }
                guard value == byte else { return nil }
                position = utf8.index(after: position)
            }
            return position
        }
    }

}

// MARK: - Digit strings without allocation

/// Up to 19 decimal digits, leading zeros included, kept in one `UInt64`.
///
/// The digits are the decimal representation of `value`, left-padded with zeros to `count`
/// digits. Every operation is total: out-of-range positions read as `-1`.
private struct DigitString {
    /// The most digits that fit: 10^19 - 1 < 2^64.
    static let capacity = 19

    private(set) var value: UInt64 = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Appends a digit, or returns `false` (leaving the string unchanged) when full.
    mutating func append(_ digit: UInt8) -> Bool {
        guard count < Self.capacity else { return false }
        value = value &* 10 &+ UInt64(digit)
        count += 1
        return true
    }

    /// The digit at `position` (0 is the first), or `-1` outside the string.
    func digit(at position: Int) -> Int {
        guard position >= 0 && position < count else { return -1 }
        return Int((value / powerOfTen(count - 1 - position)) % 10)
    }

    /// The first `length` digits as a number (`length` is clamped to `0...count`).
    func prefix(_ length: Int) -> UInt64 {
        let length = min(max(length, 0), count)
        return value / powerOfTen(count - length)
    }

    /// Whether the string starts with the `length` digits of `digits` (zero-padded).
    func hasPrefix(_ digits: UInt64, length: Int) -> Bool {
        count >= length && prefix(length) == digits
    }

    /// The string without its first `length` digits (`length` is clamped to `0...count`).
    func dropFirst(_ length: Int) -> DigitString {
        let length = min(max(length, 0), count)
        var rest = DigitString()
        rest.count = count - length
        rest.value = value % powerOfTen(rest.count)
        return rest
    }

    /// Writes the digits as ASCII into `buffer` from `start`; the caller sized the buffer.
    func write(into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        var remaining = value
        var position = start + count - 1
        while position >= start {
            buffer[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
            position -= 1
        }
    }

    /// The digits as an ASCII string.
    func string() -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            write(into: buffer, at: 0)
            return count
        }
    }

    /// 10^exponent for 0 ≤ exponent ≤ 19.
    private func powerOfTen(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1
        var remaining = exponent
        while remaining > 0 {
            result &*= 10
            remaining -= 1
        }
        return result
    }
}
