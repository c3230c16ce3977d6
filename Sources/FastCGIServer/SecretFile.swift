import Glibc
import TokenCore

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
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The file's bytes without surrounding ASCII whitespace (space, tab, CR, LF), exactly as
    /// stored otherwise: a key of random bytes (`head -c 32 /dev/urandom > FILE`) is used as
    /// those bytes, not decoded as text. Refuses an empty file.
    public static func readBytes(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw Failure(description: "cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let secret = readAll(fd, limit: 65536).trimmingASCIIWhitespace()
        guard !secret.isEmpty else { throw Failure(description: "key file \(path) is empty") }
        return Array(secret)
    }

    /// True if others than the owner and group can read `path` (worth a warning).
    public static func isWorldReadable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & 0o004 != 0
    }
}
