import Glibc

/// Reading secrets (the URL key, the mint key) from files: never from argv, where `ps` shows
/// them to every user.
public enum SecretFile {
    /// Why a secret file could not be used.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// Human-readable reason (never the secret).
        public var description: String
    }

    /// The file's text without surrounding whitespace; refuses an empty file.
    public static func read(_ path: String) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot read key file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let text = String(decoding: readAll(fd, limit: 65536), as: UTF8.self)
        let trimmed = text.unicodeScalars.drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
            .reversed().drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).reversed()
        guard !trimmed.isEmpty else { throw Failure(description: "key file \(path) is empty") }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: trimmed)
        return String(view)
    }

    /// True if others than the owner and group can read `path` (worth a warning).
    public static func isWorldReadable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & 0o004 != 0
    }
}
