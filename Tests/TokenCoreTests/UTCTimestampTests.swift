import Testing
import TokenCore

@Suite("UTC dates")
struct UTCTimestampTests {
    @Test(
        "ISO-8601 timestamps",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00Z"), (1_714_979_289, "2024-05-06T07:08:09Z"),
            (4_102_444_800, "2100-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ])
    func timestamps(seconds: Int64, text: String) {
        #expect(UTCTimestamp.iso8601(seconds) == text)
    }

    @Test("ISO days")
    func days() {
        #expect(UTCTimestamp.isoDay(0) == "1970-01-01")
        #expect(UTCTimestamp.isoDay(1_802_865_600) == "2027-02-17")
        #expect(UTCTimestamp.isoDay(1_835_481_599) == "2028-02-29")
        #expect(UTCTimestamp.isoDay(-1) == "1969-12-31")
    }

    @Test(
        "dates back to seconds, and around again",
        arguments: [Int64(0), 1_714_979_289, 951_782_399, -86_401, 253_402_300_799])
    func roundTrip(seconds: Int64) {
        let text = Array(UTCTimestamp.iso8601(seconds).utf8)
        func number(_ range: Range<Int>) -> Int { Int(String(decoding: text[range], as: UTF8.self))! }
        let back = UTCTimestamp.seconds(
            year: number(0..<4), month: number(5..<7), day: number(8..<10), hour: number(11..<13),
            minute: number(14..<16), second: number(17..<19))
        #expect(back == seconds)
    }
}
