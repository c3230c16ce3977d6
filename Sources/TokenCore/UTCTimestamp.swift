/// UNIX seconds as UTC calendar text, and back: the one place that turns times into dates, for
/// log lines, `export --minted`, `stats` and the probe's certificate dates. Pure arithmetic on
/// the proleptic Gregorian calendar (Howard Hinnant's algorithms), no time zone database: every
/// date this product shows is UTC.
public enum UTCTimestamp {
    /// `2024-05-06T07:08:09Z` for `seconds` since 1970-01-01T00:00:00Z.
    public static func iso8601(_ seconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        append(seconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ISO-8601 form of `seconds` to `out` (no allocation beyond `out`'s growth).
    public static func append(_ seconds: Int64, to out: inout [UInt8]) {
        let (days, second) = split(seconds)
        appendDay(days, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(second / 3600, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(second / 60 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(second % 60, 2, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `2027-02-17`: the UTC day of `seconds`.
    public static func isoDay(_ seconds: Int64) -> String {
        var bytes: [UInt8] = []
        appendDay(split(seconds).days, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// UNIX seconds of a UTC date and time.
    public static func seconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64 {
        Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Whole days since the epoch (rounded down) and the seconds into that day.
    private static func split(_ seconds: Int64) -> (days: Int, second: Int) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return (Int(days), Int(seconds - days * 86_400))
    }

    private static func appendDay(_ days: Int, to out: inout [UInt8]) {
        let (year, month, day) = civilFromDays(days)
        appendDigits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, 2, &out)
    }

    private static func appendDigits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendDigits(-value, width, &out)
            return
        }
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        if digits.count < width {
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count))
        }
        out.append(contentsOf: digits.reversed())
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``daysFromCivil(year:month:day:)``.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
