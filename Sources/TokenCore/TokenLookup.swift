/// Where the handler finds tokens: the worker's store reader in production, a dictionary in tests.
public protocol TokenLookup {
    /// The token stored for the canonical number `key`, or `nil` if there is none.
    /// Throws when the store cannot be read; the error's description goes to the server log.
    mutating func token(forKey key: String) throws -> String?

    /// A token for a valid number the store does not know, when the responder mints
    /// (`--unknown mint`): derived from the number, recorded if possible. Only called then.
    /// nil when minting has reached its limit: the number is then answered as unknown.
    mutating func mintToken(forKey key: String) throws -> String?

    /// Throws unless the store answers a query: what the health endpoint reports.
    mutating func checkHealth() throws

    /// True when the last call was answered by a fallback store because the store itself could
    /// not answer (the answer's outcome is then `fallback`, and health says `degraded`).
    var answeredFromFallback: Bool { get }
}

extension TokenLookup {
    /// Lookups without a fallback never answer from one.
    public var answeredFromFallback: Bool { false }

    /// Lookups that cannot mint report it as a store failure (a configuration error).
    public mutating func mintToken(forKey key: String) throws -> String? {
        throw MintingUnavailable()
    }
}

/// Thrown by lookups that were not set up to mint tokens.
public struct MintingUnavailable: Error, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// Explanation for the log.
    public var description: String { "minting was requested but no mint key is configured" }
}
