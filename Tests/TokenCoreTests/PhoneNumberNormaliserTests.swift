import Testing
import TokenCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The outcome of one normalisation, comparable in one `#expect`.
typealias Outcome = Result<NormalisedNumber, InvalidPhoneNumber>

/// Runs `normalise` and captures its result or its error.
func outcome(_ written: String, _ normaliser: PhoneNumberNormaliser = PhoneNumberNormaliser()) -> Outcome {
    do {
        return .success(try normaliser.normalise(written))
    } catch {
        return .failure(error)
    }
}

/// One row of `Tests/Fixtures/numbers.tsv`.
struct FixtureRow: Sendable, CustomTestStringConvertible {
    /// 1-based line number in the file.
    var line: Int
    /// The written form, as in the file.
    var input: String
    /// The `expected` column as written: a key or `error:<case>`.
    var expected: String
    /// The `libphonenumber` column: `agree` or `skip: reason`.
    var libphonenumber: String

    var testDescription: String { "numbers.tsv:\(line) \(String(reflecting: input)) → \(expected)" }

    /// The key, or the error, that the `expected` column stands for; `nil` if it is malformed.
    var expectedKeyOrError: Result<String, InvalidPhoneNumber>? {
        let errorPrefix = "error:"
        guard expected.hasPrefix(errorPrefix) else {
            return expected.hasPrefix("+") ? .success(expected) : nil
        }
        switch expected.dropFirst(errorPrefix.count) {
        case "empty": return .failure(.empty)
        case "invalidCharacters": return .failure(.invalidCharacters)
        case "tooShort": return .failure(.tooShort)
        case "tooLong": return .failure(.tooLong)
        case "notANumber": return .failure(.notANumber)
        default: return nil
        }
    }
}

/// Reads `Tests/Fixtures/numbers.tsv`, found from this file's path, without Foundation.
enum Fixture {
    /// `Tests/Fixtures/numbers.tsv`, from `Tests/TokenCoreTests/<this file>`.
    static let path: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(2)
        return (components + ["Fixtures", "numbers.tsv"]).joined(separator: "/")
    }()

    /// The file's text, or `nil` if it cannot be read or is not UTF-8.
    static let text: String? = {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            bytes.append(contentsOf: chunk[0..<read])
        }
        return String(validating: bytes, as: UTF8.self)
    }()

    /// The lines of the file, without line terminators (the last, empty one dropped).
    static let lines: [String] = {
        guard let text else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }()

    /// Every data row; fields are split on tabs and not trimmed (some inputs are spaces).
    static let rows: [FixtureRow] = lines.enumerated().dropFirst().map { offset, line in
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        return FixtureRow(
            line: offset + 1,
            input: fields.count > 0 ? fields[0] : "",
            expected: fields.count > 1 ? fields[1] : "",
            libphonenumber: fields.count > 2 ? fields[2] : "")
    }
}

/// A small deterministic generator (SplitMix64) so that fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Whether `key` has the canonical shape: `+`, a non-zero digit, 6 to 14 more digits.
func isCanonicalKeyShape(_ key: String) -> Bool {
    let bytes = Array(key.utf8)
    guard bytes.count >= 8, bytes.count <= 16, bytes[0] == UInt8(ascii: "+"), bytes[1] != UInt8(ascii: "0")
    else { return false }
    return bytes.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
}

@Suite("PhoneNumberNormaliser")
struct PhoneNumberNormaliserTests {
    let normaliser = PhoneNumberNormaliser()

    // MARK: The table

    @Test("numbers.tsv is readable and well formed")
    func fixtureIsWellFormed() {
        #expect(Fixture.text != nil, "cannot read \(Fixture.path) as UTF-8")
        #expect(Fixture.lines.first == "input\texpected\tlibphonenumber")
        #expect(Fixture.rows.count >= 80)
        var seen: Set<String> = []
        for row in Fixture.rows {
            let fields = Fixture.lines[row.line - 1].split(separator: "\t", omittingEmptySubsequences: false)
            #expect(fields.count == 3, "numbers.tsv:\(row.line) has \(fields.count) fields")
            #expect(row.expectedKeyOrError != nil, "numbers.tsv:\(row.line) bad expected \(row.expected)")
            #expect(
                row.libphonenumber == "agree"
                    || (row.libphonenumber.hasPrefix("skip: ") && row.libphonenumber.count > 10),
                "numbers.tsv:\(row.line) libphonenumber column must be 'agree' or 'skip: reason'")
            #expect(seen.insert(row.input).inserted, "numbers.tsv:\(row.line) repeats an input")
        }
    }

    @Test("numbers.tsv row", arguments: Fixture.rows)
    func fixtureRow(_ row: FixtureRow) throws {
        let expected = try #require(row.expectedKeyOrError)
        let actual = outcome(row.input).map(\.key)
        #expect(actual == expected)
    }

    @Test("every key in numbers.tsv is canonical and normalises to itself", arguments: Fixture.rows)
    func fixtureKeysAreFixedPoints(_ row: FixtureRow) throws {
        guard case .success(let key)? = row.expectedKeyOrError else { return }
        #expect(isCanonicalKeyShape(key))
        #expect(outcome(key) == .success(NormalisedNumber(key: key)))
    }

    // MARK: Extensions

    @Test(
        "extension is split off and returned",
        arguments: [
            ("13812345678转8001", "+8613812345678", "8001"),
            ("13812345678 分機 12", "+8613812345678", "12"),
            ("13812345678 ext. 123", "+8613812345678", "123"),
            ("13812345678 extn: 55", "+8613812345678", "55"),
            ("13812345678 x 1-2-3", "+8613812345678", "123"),
            ("13812345678；", "", nil),
            ("010-12345678 转 ８００１", "+861012345678", "8001"),
            ("tel:+86-10-1234-5678;ext=0123", "+861012345678", "0123"),
            ("+1 415 555 2671 #9", "+14155552671", "9"),
            ("13812345678 转 1234567890", "+8613812345678", "1234567890"),
            ("13812345678#", "+8613812345678", nil),
            ("13812345678,", "+8613812345678", nil),
            ("13812345678", "+8613812345678", nil),
        ] as [(String, String, String?)])
    func extensions(_ written: String, key: String, extension: String?) {
        if key.isEmpty {
            #expect(outcome(written) == .failure(.invalidCharacters))
        } else {
            #expect(outcome(written) == .success(NormalisedNumber(key: key, extension: `extension`)))
        }
    }

    @Test("an extension does not change the key")
    func extensionDoesNotChangeKey() throws {
        let plain = try normaliser.normalise("0755-12345678")
        let withExtension = try normaliser.normalise("0755-12345678 转 321")
        #expect(plain.key == withExtension.key)
        #expect(plain.extension == nil)
        #expect(withExtension.extension == "321")
    }

    // MARK: Inputs that cannot be written in the table

    @Test(
        "control characters, long and odd inputs",
        arguments: [
            ("\0", .failure(.invalidCharacters)),
            ("\u{0}13812345678", .failure(.invalidCharacters)),
            ("13812345678\u{0}", .failure(.invalidCharacters)),
            ("13812345678\n", .success(NormalisedNumber(key: "+8613812345678"))),
            ("13812345678\r\n", .success(NormalisedNumber(key: "+8613812345678"))),
            ("\t010\t12345678\t", .success(NormalisedNumber(key: "+861012345678"))),
            ("\u{FEFF}13812345678", .success(NormalisedNumber(key: "+8613812345678"))),
            ("138\u{00A0}1234\u{00A0}5678", .success(NormalisedNumber(key: "+8613812345678"))),
            ("138\u{200B}1234\u{2060}5678", .success(NormalisedNumber(key: "+8613812345678"))),
            ("138\u{00AD}1234\u{2011}5678", .success(NormalisedNumber(key: "+8613812345678"))),
            ("\n\r\t\u{3000} ", .failure(.empty)),
            ("1\u{0301}3812345678", .failure(.invalidCharacters)),
            ("\u{200F}13812345678", .failure(.invalidCharacters)),
            ("\u{1F600}", .failure(.invalidCharacters)),
            ("١٣٨١٢٣٤٥٦٧٨", .failure(.invalidCharacters)),
            ("＋８６　（０）１０　１２３４　５６７８", .success(NormalisedNumber(key: "+861012345678"))),
            (String(repeating: "1", count: 10_000), .failure(.tooLong)),
            (String(repeating: "\u{1F600}", count: 10_000), .failure(.tooLong)),
            (String(repeating: " ", count: 10_000), .failure(.tooLong)),
            (String(repeating: "\0", count: 10_000), .failure(.tooLong)),
            (String(repeating: "-", count: 64), .failure(.tooShort)),
            (String(repeating: " ", count: 53) + "13812345678", .success(NormalisedNumber(key: "+8613812345678"))),
            (String(repeating: " ", count: 54) + "13812345678", .failure(.tooLong)),
            (String(repeating: "1", count: 19), .failure(.tooLong)),
            (String(repeating: "1", count: 20), .failure(.tooLong)),
        ] as [(String, Outcome)])
    func oddInputs(_ written: String, expected: Outcome) {
        #expect(outcome(written) == expected)
    }

    // MARK: Default country

    @Test(
        "other default countries",
        arguments: [
            (44, "020 7946 0958", .success(NormalisedNumber(key: "+442079460958"))),
            (44, "20 7946 0958", .success(NormalisedNumber(key: "+442079460958"))),
            (44, "00 0 20", .failure(.notANumber)),
            (44, "0 0 20 7946 0958", .success(NormalisedNumber(key: "+2079460958"))),  // 00 20: Egypt
            (44, "+86 138 1234 5678", .success(NormalisedNumber(key: "+8613812345678"))),
            (44, "0086 10 1234 5678", .success(NormalisedNumber(key: "+861012345678"))),
            (44, "13812345678", .success(NormalisedNumber(key: "+4413812345678"))),
            (1, "(415) 555-2671", .success(NormalisedNumber(key: "+14155552671"))),
            (1, "415 555 2671 ext 7", .success(NormalisedNumber(key: "+14155552671", extension: "7"))),
            (852, "2123 4567", .success(NormalisedNumber(key: "+85221234567"))),
            (852, "212", .failure(.tooShort)),
            (39, "06 1234 5678", .success(NormalisedNumber(key: "+390612345678"))),
            (0, "13812345678", .failure(.notANumber)),
            (-86, "13812345678", .failure(.notANumber)),
            (99_999, "13812345678", .failure(.notANumber)),
            (0, "+86 138 1234 5678", .success(NormalisedNumber(key: "+8613812345678"))),
            (Int.max, "0044 20 7946 0958", .success(NormalisedNumber(key: "+442079460958"))),
        ] as [(Int, String, Outcome)])
    func otherDefaultCountries(_ country: Int, _ written: String, expected: Outcome) {
        let normaliser = PhoneNumberNormaliser(defaultCountryCode: country)
        #expect(outcome(written, normaliser) == expected)
        // A key is canonical under every default country: normalised again, it comes back unchanged.
        if case .success(let number) = expected {
            #expect(outcome(number.key, normaliser) == .success(NormalisedNumber(key: number.key)))
        }
    }

    @Test("the default country is China")
    func defaultIsChina() {
        #expect(PhoneNumberNormaliser().defaultCountryCode == 86)
    }

    // MARK: Errors

    @Test(
        "every error has its own message, which never repeats the number",
        arguments: [
            InvalidPhoneNumber.empty, .invalidCharacters, .tooShort, .tooLong, .notANumber,
        ])
    func messages(_ error: InvalidPhoneNumber) {
        #expect(!error.message.isEmpty)
        let others = [InvalidPhoneNumber.empty, .invalidCharacters, .tooShort, .tooLong, .notANumber]
            .filter { $0 != error }
        #expect(others.allSatisfy { $0.message != error.message })
        #expect(!error.message.contains("138"))
    }

    // MARK: Properties over many inputs

    @Test("separators and whitespace anywhere between the digits do not change the key")
    func separatorsAnywhere() throws {
        var random = SplitMix64(state: 0x5EED_0001)
        let separators: [Character] = [" ", "-", ".", "(", ")", "/", "\u{3000}", "－", "（", "）", "—", "\t"]
        let written = [
            "+8613812345678", "013812345678", "01012345678", "075512345678", "+442079460958",
            "0014155552671", "4001234567", "1795113812345678", "8601012345678",
        ]
        for number in written {
            let expected = try normaliser.normalise(number).key
            for _ in 0..<200 {
                var scrambled = ""
                for character in number {
                    if scrambled.unicodeScalars.count < 40, Bool.random(using: &random) {
                        scrambled.append(separators.randomElement(using: &random)!)
                    }
                    scrambled.append(character)
                }
                #expect(try normaliser.normalise(scrambled).key == expected, "\(String(reflecting: scrambled))")
            }
        }
    }

    @Test("full-width digits and ASCII digits give the same key", arguments: Fixture.rows)
    func fullWidthDigits(_ row: FixtureRow) {
        var fullWidth = String.UnicodeScalarView()
        for scalar in row.input.unicodeScalars {
            if ("0"..."9").contains(scalar) {
                fullWidth.append(Unicode.Scalar(scalar.value - 0x30 + 0xFF10)!)
            } else {
                fullWidth.append(scalar)
            }
        }
        #expect(outcome(String(fullWidth)) == outcome(row.input))
    }

    @Test("random input never traps; every key is canonical and a fixed point")
    func fuzz() {
        var random = SplitMix64(state: 0xF022_2024)
        let alphabet: [String] = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "1", "8", "6", "0", "1",
            "０", "８", "６", "１", "+", "＋", " ", "-", "(", ")", ".", "/", "\u{3000}", "－",
            "转", "分机", "分", "ext", "x", "#", ",", ";ext=", "tel:", "e", "a", "😀", "\0", "\n",
            "00", "86", "17951", "010", "0755", "138", "400", "95", "+86", "0086", "+44", "(0)",
            "13812345678", "1234567", "12345678", "7946 0958", "95588", "4001234567", "1012345678",
        ]
        var successes = 0
        for _ in 0..<50_000 {
            var written = ""
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                written += alphabet.randomElement(using: &random)!
            }
            switch outcome(written) {
            case .success(let number):
                successes += 1
                #expect(isCanonicalKeyShape(number.key), "\(String(reflecting: written))")
                #expect(
                    outcome(number.key) == .success(NormalisedNumber(key: number.key)),
                    "\(String(reflecting: written)) → \(number.key)")
                if let digits = number.extension {
                    #expect(!digits.isEmpty && digits.count <= PhoneNumberNormaliser.maximumExtensionLength)
                    #expect(digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                }
            case .failure:
                break
            }
        }
        // The alphabet is chosen so that a fair share of inputs are numbers.
        #expect(successes > 1_000)
    }

    @Test(
        "random digit strings, any default country: keys are canonical and fixed points",
        arguments: [86, 44, 1, 39, 852])
    func fuzzDigits(defaultCountryCode: Int) {
        let normaliser = PhoneNumberNormaliser(defaultCountryCode: defaultCountryCode)
        var random = SplitMix64(state: 0xD161_7500 &+ UInt64(defaultCountryCode))
        var successes = 0
        for _ in 0..<50_000 {
            var written = Bool.random(using: &random) ? "" : "+"
            for _ in 0..<Int.random(in: 1...19, using: &random) {
                // Bias towards the digits that start prefixes: 0, 1, 8, 6.
                let digit = Int.random(in: 0...13, using: &random)
                written += String([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 8, 6][digit])
            }
            guard case .success(let number) = outcome(written, normaliser) else { continue }
            successes += 1
            #expect(isCanonicalKeyShape(number.key), "\(written)")
            #expect(
                outcome(number.key, normaliser) == .success(NormalisedNumber(key: number.key)),
                "\(written) → \(number.key)")
            #expect(number.extension == nil)
        }
        #expect(successes > 5_000)
    }
}
