/// The text of `tokenctl import`'s progress line: rows read, how far into the input, and the
/// rate, e.g. `1048576 rows read, 42% of the file, 310000 rows/s`.
public enum ImportProgressLine {
    /// The line for `records` read, `position` of `total` (nil: unknown, no percentage), after
    /// `elapsedMicroseconds`. `of` names the whole (`the file`, `the sheet`).
    public static func text(records: Int, position: Int, total: Int?, of: String, elapsedMicroseconds: Int64)
        -> String
    {
        var parts = ["\(records) rows read"]
        if let total, total > 0 {
            parts.append("\(min(100, position * 100 / total))% of \(of)")
        }
        if elapsedMicroseconds > 0 {
            parts.append("\(Int64(records) * 1_000_000 / elapsedMicroseconds) rows/s")
        }
        return parts.joined(separator: ", ")
    }
}
