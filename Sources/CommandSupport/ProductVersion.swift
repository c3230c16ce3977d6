/// The version both executables report (`--version`, and the responder's start-up line).
///
/// Its one source is the top entry of `debian/changelog`; `scripts/product-version.sh` turns it
/// into `GeneratedProductVersion.swift` on every build (the `ProductVersionPlugin` build tool),
/// adding a git describe for development builds.
public enum ProductVersion {
    /// What this build is: the release (`0.1.0`) when built from the release or packaged, else a
    /// git describe (`0.1.0-3-g1a2b3c4d5e`, or `0.1.0+g1a2b3c4d5e` before the first tag;
    /// `-modified` with uncommitted changes).
    public static let current = generatedProductVersion
}
