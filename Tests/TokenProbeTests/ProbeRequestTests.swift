import Testing
import TokenProbe

@Suite("What the probe sends")
struct ProbeRequestTests {
    @Test(
        "integer encoding only for plain digits without a leading zero, up to 15",
        arguments: [
            ("13800138000", [NumberEncoding.integer, .string]), ("0", [.integer, .string]),
            ("123456789012345", [.integer, .string]), ("1234567890123456", [.string]), ("01012345678", [.string]),
            ("+8613800138000", [.string]), ("138 0013 8000", [.string]), ("", [.string]), ("１３８", [.string]),
        ])
    func encodings(number: String, expected: [NumberEncoding]) {
        #expect(NumberEncoding.encodings(for: number) == expected)
    }

    @Test("the body is Udesk's")
    func body() {
        #expect(
            String(
                decoding: NumberEncoding.integer.body(number: "13800138000", timestamp: 1_501_124_998), as: UTF8.self)
                == #"{"timestamp": 1501124998, "number": 13800138000}"#)
        #expect(
            String(decoding: NumberEncoding.string.body(number: "13800138000", timestamp: 1_501_124_998), as: UTF8.self)
                == #"{"timestamp": 1501124998, "number": "13800138000"}"#)
        #expect(
            String(decoding: NumberEncoding.integer.body(number: "+86 \"138\"", timestamp: 1), as: UTF8.self)
                == #"{"timestamp": 1, "number": "+86 \"138\""}"#)
    }

    @Test("usage errors", arguments: [(" ", 5), ("13800138000", 0), ("13800138000", 10_001), ("138\n", 1)])
    func usage(number: String, count: Int) throws {
        let configuration = ProbeConfiguration(url: try ProbeURL("https://h/x"), number: number, count: count)
        #expect(throws: ProbeUsageError.self) { try configuration.validate() }
    }

    @Test(
        "the number is masked in the report as in the responder's log",
        arguments: [
            ("13800138000", "+86138******00"), ("+86 138 0013 8000", "+86138******00"), ("12345678", "12****78"),
            ("010-12345678", "+86101*****78"),
        ])
    func maskedNumber(number: String, masked: String) throws {
        let run = ProbeRun(
            url: try ProbeURL("https://h/x"), number: number, requestedCount: 1, answers: [], startedAt: 0)
        #expect(run.maskedNumber == masked)
    }

    @Test("the number is read with the probe's country code")
    func maskedNumberInAnotherCountry() throws {
        let run = ProbeRun(
            url: try ProbeURL("https://h/x"), number: "(415) 555-2671", countryCode: 1, requestedCount: 1, answers: [],
            startedAt: 0)
        #expect(run.maskedNumber == "+1415*****71")
    }
}
