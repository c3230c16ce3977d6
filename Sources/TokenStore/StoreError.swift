/// Why the token store could not do what was asked. Messages name the store and the engine's
/// reason, never a number or a token.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened (missing, permissions, not a database).
        case cannotOpen
        /// The file is not a token store, or its schema is newer than this binary.
        case incompatibleSchema
        /// The database engine reported an error while reading or writing.
        case database
        /// A token that breaks ``TokenRules`` was given to be stored.
        case invalidToken
    }

    /// The failure's kind.
    public var kind: Kind
    /// Human-readable description.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
