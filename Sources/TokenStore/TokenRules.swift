/// What a customer token may be, whatever writes it: every import row, `put`, and what
/// `verify` checks in a store. Not empty, at most ``maxBytes`` bytes, no control characters,
/// valid UTF-8 (Udesk shows the token and sends it back to the CRM).
public enum TokenRules {
    /// Largest accepted token, in bytes.
    public static let maxBytes = 255

    /// Why `token` cannot be stored, or nil if it can. The reason never repeats the token.
    /// Inlinable: the importer (TokenImport) calls it for every row, and unspecialised generic
    /// code made a 1M-row import take a second longer.
    @inlinable
    public static func problem<Bytes: Collection<UInt8>>(with token: Bytes) -> String? {
        if token.isEmpty { return "empty token" }
        if token.count > maxBytes { return "token longer than \(maxBytes) bytes" }
        if token.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "token contains control characters" }
        var iterator = token.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return nil
            case .error: return "token is not valid UTF-8"
            }
        }
    }

    /// Why `token` cannot be stored, or nil if it can.
    public static func problem(with token: String) -> String? {
        problem(with: token.utf8)
    }
}
