/// Where the handler finds tokens: the SQLite store in production, a dictionary in tests.
public protocol TokenLookup {
    /// The token stored for the canonical number `key`, or `nil` if there is none.
    /// Throws when the store cannot be read; the error's description goes to the server log.
    mutating func token(forKey key: String) throws -> String?
}
