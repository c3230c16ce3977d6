import TokenCore

/// Certificate validity dates as OpenSSL prints them (`Feb 17 12:00:00 2027 GMT`, which is what
/// libcurl's certificate info holds with the OpenSSL backend), read into UNIX seconds with
/// ``UTCTimestamp``: certificate dates are always GMT.
public enum CertificateDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// UNIX seconds for `Feb 17 12:00:00 2027 GMT` (day may be space-padded, `GMT` may be
    /// missing); nil if the text has another shape.
    public static func parse(_ text: String) -> Int64? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 4 || (fields.count == 5 && fields[4] == "GMT"),
            let month = months.firstIndex(of: String(fields[0])),
            let day = Int(fields[1]), (1...31).contains(day),
            let year = Int(fields[3]), (1...9999).contains(year)
        else { return nil }
        let time = fields[2].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        return UTCTimestamp.seconds(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
    }

    /// Whole days from `now` until `date`, rounded toward zero: 0 on the last day, and minus the
    /// whole days since `date` once it is past.
    public static func daysLeft(until date: Int64, now: Int64) -> Int64 {
        (date - now) / 86_400
    }
}
