import Testing
import TokenProbe

@Suite("Certificate dates as OpenSSL prints them")
struct CertificateDateTests {
    @Test(
        "parses OpenSSL's format",
        arguments: [
            ("Jan  1 00:00:00 1970 GMT", Int64(0)),
            ("Feb 17 12:00:00 2027 GMT", 1_802_865_600),
            ("Feb  7 12:00:00 2027 GMT", 1_802_001_600),
            ("Feb 29 23:59:59 2028", 1_835_481_599),
            ("Dec 31 23:59:59 9999 GMT", 253_402_300_799),
        ])
    func parses(text: String, seconds: Int64) {
        #expect(CertificateDate.parse(text) == seconds)
    }

    @Test(
        "other shapes are not guessed",
        arguments: [
            "", "2027-02-17", "Foo 17 12:00:00 2027 GMT", "Feb 17 12:00 2027 GMT", "Feb 17 12:00:00 2027 UTC",
            "Feb 32 12:00:00 2027 GMT",
        ])
    func rejects(text: String) {
        #expect(CertificateDate.parse(text) == nil)
    }

    @Test("days left")
    func days() {
        let now: Int64 = 1_800_000_000
        #expect(CertificateDate.daysLeft(until: now + 83 * 86_400 + 5, now: now) == 83)
        #expect(CertificateDate.daysLeft(until: now + 86_399, now: now) == 0)
        #expect(CertificateDate.daysLeft(until: now - 10, now: now) == 0)
        #expect(CertificateDate.daysLeft(until: now - 3 * 86_400 - 1, now: now) == -3)
    }
}
