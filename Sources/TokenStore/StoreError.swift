/// Why the token store could not do what was asked. Messages name the file and SQLite's reason,
/// never a number or a token.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened (missing, permissions, not a database).
        case cannotOpen
        /// The file is not a token store, or its schema is newer than this binary.
        case incompatibleSchema
        /// SQLite reported an error while reading or writing.
        case sqlite
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
