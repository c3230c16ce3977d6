/// The version both executables report (`--version`, and the responder's start-up line).
public enum ProductVersion {
    /// The release this source tree is.
    public static let current = "0.1.0"
}
