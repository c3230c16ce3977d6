import Glibc

/// Why an export or a backup could not be written: the file, the step and the system's reason.
/// Never carries a number or a token.
public struct OutputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Human-readable description.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// An error for a failed system call: `message: strerror(errno)`.
    public static func system(_ message: String, errno code: Int32) -> OutputError {
        OutputError("\(message): \(String(cString: strerror(code)))")
    }

    /// The message.
    public var description: String { message }
}
