/// A probe that cannot start because of what was asked (a malformed URL, an empty number, a
/// count out of range): `tokenctl probe` turns it into a usage error (exit status 2).
public struct ProbeUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in plain words; never quotes a secret.
    public let message: String

    /// Creates an error with `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
