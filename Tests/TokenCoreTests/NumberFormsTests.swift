import Testing
import TokenCore

/// The number forms CRM exports hold (labels, ranges, dialer pauses, full-width `ｘ`) and the
/// validity rules of the Chinese numbering plan. The keys are also rows of
/// `Tests/Fixtures/numbers.tsv`, where `test_numbers_libphonenumber.py` checks them against
/// libphonenumber; these tests check what the table cannot say: the extension and the range.
@Suite("Number forms from CRM exports")
struct NumberFormsTests {
    @Test(
        "a label before the number is dropped",
        arguments: [
            ("手机：13687654321", "+8613687654321"),
            ("手机号: 13687654321", "+8613687654321"),
            ("手机号码 136 8765 4321", "+8613687654321"),
            ("手機：13687654321", "+8613687654321"),
            ("电话: 021-62345678", "+862162345678"),
            ("电话号码：021 6234 5678", "+862162345678"),
            ("電話號碼：021 6234 5678", "+862162345678"),
            ("联系电话：021-62345678", "+862162345678"),
            ("聯絡電話：021-62345678", "+862162345678"),
            ("座机：0512-62345678", "+8651262345678"),
            ("固話 010-62345678", "+861062345678"),
            ("Tel 0571 8765 4321", "+8657187654321"),
            ("Tel. 0571-87654321", "+8657187654321"),
            ("TEL：+86 571 8765 4321", "+8657187654321"),
            ("Phone: 13812345678", "+8613812345678"),
            ("MOBILE 13812345678", "+8613812345678"),
            ("Mob: 13812345678", "+8613812345678"),
            ("m：13812345678", "+8613812345678"),
            ("T 021 6234 5678", "+862162345678"),
            ("  手机：\u{3000}13687654321  ", "+8613687654321"),
        ])
    func labels(_ written: String, key: String) {
        #expect(outcome(written) == .success(NormalisedNumber(key: key)))
    }

    @Test(
        "other words, a label without : ： or a space, or a label anywhere but in front are rejected",
        arguments: [
            "Fax: 021-62345678", "Telephone: 021-62345678", "手机13687654321", "Tel0571-87654321",
            "手机：手机：13687654321", "13687654321 手机", "138 手机 12345678", "Cell: 13812345678",
            "Mo: 13812345678", "电: 021-62345678", "手机：ext 801", "手机-13687654321", "tel.0571-87654321",
        ])
    func otherWords(_ written: String) {
        #expect(outcome(written) == .failure(.invalidCharacters))
    }

    @Test("a label with nothing after it has no digits")
    func labelAlone() {
        #expect(outcome("手机：") == .failure(.tooShort))
        #expect(outcome("Tel ") == .failure(.tooShort))
    }

    @Test(
        "a range is keyed by its first number and says it was a range",
        arguments: [
            ("0512-6234 5678～9", "+8651262345678"),
            ("0512-6234 5678~9", "+8651262345678"),
            ("0512-62345678〜9", "+8651262345678"),
            ("0512-62345678 ～ 79", "+8651262345678"),
            ("021-62345678～62345679", "+862162345678"),
            ("021-62345678~021-62345679", "+862162345678"),
            ("手机：13812345678~9", "+8613812345678"),
            ("+86 10 6234 5670～9", "+861062345670"),
        ])
    func ranges(_ written: String, key: String) {
        #expect(outcome(written) == .success(NormalisedNumber(key: key, isRange: true)))
    }

    @Test(
        "a range mark needs 1 to as many digits as the number after it, and nothing else",
        arguments: [
            ("13812345678~", InvalidPhoneNumber.invalidCharacters),
            ("13812345678～ ", .invalidCharacters),
            ("13812345678~9x", .invalidCharacters),
            ("~9", .invalidCharacters),
            ("13812345678～9～10", .invalidCharacters),
            ("13812345678～9转8", .invalidCharacters),
            ("13812345678转8~9", .invalidCharacters),
            ("13812345678~123456789012", .tooLong),
            ("0755-6234567～8", .tooShort),
        ])
    func badRanges(_ written: String, error: InvalidPhoneNumber) {
        #expect(outcome(written) == .failure(error))
    }

    @Test(
        "dialer pauses and a full-width x before an extension",
        arguments: [
            ("13812345678,,12", "+8613812345678", "12"),
            ("021-62345678,,801", "+862162345678", "801"),
            ("021-62345678，，801", "+862162345678", "801"),
            ("021-62345678,,,,801", "+862162345678", "801"),
            ("021-62345678,，,801", "+862162345678", "801"),
            ("13812345678,,,", "+8613812345678", nil),
            ("13812345678ｘ801", "+8613812345678", "801"),
            ("021-62345678 Ｘ ８０１", "+862162345678", "801"),
        ] as [(String, String, String?)])
    func pausesAndFullWidthX(_ written: String, key: String, extension: String?) {
        #expect(outcome(written) == .success(NormalisedNumber(key: key, extension: `extension`)))
    }

    @Test("a pause run is one marker: a second marker after it is still rejected")
    func pausesThenMarker() {
        #expect(outcome("13812345678,,12,,3") == .failure(.invalidCharacters))
        #expect(outcome("13812345678,, 12ｘ3") == .failure(.invalidCharacters))
    }

    @Test(
        "libphonenumber's IP-dialing prefixes, and 10193",
        arguments: ["17969", "17908", "17910", "17950", "11808", "12345", "17999", "17951", "12593", "10193"])
    func ipDialingPrefixes(_ prefix: String) {
        #expect(outcome(prefix + " 13812345678") == .success(NormalisedNumber(key: "+8613812345678")))
        #expect(outcome(prefix + "2162345678") == .success(NormalisedNumber(key: "+862162345678")))
        #expect(outcome(prefix + " 021 62345678") == .success(NormalisedNumber(key: "+862162345678")))
    }

    @Test("five digits that are not an IP-dialing prefix are not dropped", arguments: ["13000", "10000", "17800"])
    func notIPDialingPrefixes(_ prefix: String) {
        #expect(outcome(prefix + "13812345678") == .failure(.tooLong))
    }

    @Test(
        "numbers that cannot be dialled are refused",
        arguments: [
            ("852 6234 5678", InvalidPhoneNumber.notANumber),  // no area code 852
            ("(02) 2345-6789", .tooShort),  // 7 digits in Tianjin (022), which has 8
            ("0755-6234567", .tooShort),  // 7 digits in Shenzhen, which has 8
            ("010-1234567", .tooShort),
            ("0351-71234567", .tooLong),  // 8 digits in Taiyuan, which has 7
            ("15412345678", .notANumber),  // 154 is not allocated
            ("14012345678", .notANumber),
            ("19412345678", .notANumber),
            ("16111234567", .notANumber),
            ("17406123456", .notANumber),
            ("+86 26 6234 5678", .notANumber),  // no area code 26
            ("0601-2345678", .notANumber),
            ("+86 400 123 456", .tooShort),
            ("95101234", .notANumber),  // 95 short numbers have 5 or 6 digits
            ("9558888", .notANumber),
            ("010-80012345", .notANumber),  // 10800… is a toll-free prefix, not a Beijing line
            ("+86 21 8001 2345", .notANumber),
        ])
    func invalid(_ written: String, error: InvalidPhoneNumber) {
        #expect(outcome(written) == .failure(error))
    }

    @Test(
        "numbers that exist are kept",
        arguments: [
            ("0433-1234567", "+864331234567"),  // Yanbian: 7 or 8 digits
            ("0433-12345678", "+8643312345678"),
            ("0851-23456789", "+8685123456789"),
            ("16101234567", "+8616101234567"),  // 1610 is allocated, 1611 is not
            ("17401234567", "+8617401234567"),
            ("+86 950 1234 5678", "+8695012345678"),
            ("955888", "+86955888"),
            ("010-80112345", "+861080112345"),
            ("0755-80012345", "+8675580012345"),
        ])
    func valid(_ written: String, key: String) {
        #expect(outcome(written) == .success(NormalisedNumber(key: key)))
    }
}

@Suite("Number forms under random input")
struct NumberFormsFuzzTests {
    @Test("labels, ranges and pauses mixed at random never trap; every key is canonical and a fixed point")
    func fuzz() {
        var random = SplitMix64(state: 0x15_0C4D)
        let alphabet: [String] = [
            "手机：", "电话: ", "Tel ", "M:", "T", "Phone", "手", "：", ":", "～", "~", "〜", ",,", "，", "ｘ", "Ｘ",
            "9", "79", "801", " ", "-", "0512-6234 5678", "13812345678", "021-62345678", "17969", "0755",
            "6234567", "154", "852", "+86", "0", "1", "26", "95588",
        ]
        var successes = 0
        var ranges = 0
        for _ in 0..<50_000 {
            var written = ""
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                written += alphabet.randomElement(using: &random)!
            }
            guard case .success(let number) = outcome(written) else { continue }
            successes += 1
            if number.isRange { ranges += 1 }
            #expect(isCanonicalKeyShape(number.key), "\(String(reflecting: written))")
            #expect(
                outcome(number.key) == .success(NormalisedNumber(key: number.key)),
                "\(String(reflecting: written)) → \(number.key)")
        }
        #expect(successes > 500)
        #expect(ranges > 50)
    }
}

@Suite("404 or 422 at lookup")
struct LookupValidityTests {
    func status(_ number: String) -> Int {
        let body = Array(#"{"number":""#.utf8) + Array(number.utf8) + Array(#""}"#.utf8)
        let request = TokenRequest(
            method: "POST", contentType: "application/json", contentLength: body.count, body: body)
        var lookup = DictionaryLookup(tokens: ["+8651262345678": "cust-suzhou"])
        return TokenHandler(configuration: HandlerConfiguration()).respond(to: request, lookup: &lookup).status
    }

    @Test(
        "a number that exists but is not stored is 404; one that cannot exist is 422",
        arguments: [
            ("0512-62345678", 200), ("电话：0512-6234 5678～9", 200), ("0512-62345679", 404),
            ("021-62345678", 404), ("13687654321", 404), ("0755-62345678", 404),
            ("852 6234 5678", 422), ("(02) 2345-6789", 422), ("0755-6234567", 422), ("15412345678", 422),
            ("+86 26 6234 5678", 422), ("Fax: 0512-62345678", 422),
        ])
    func lookupStatus(_ number: String, expected: Int) {
        #expect(status(number) == expected)
    }
}
