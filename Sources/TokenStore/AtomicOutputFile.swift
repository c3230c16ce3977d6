import Glibc

/// A file that appears at its path complete or not at all.
///
/// The content goes to `PATH.tmp-XXXXXX` in the same directory (created mode 0640, whatever the
/// umask), which ``commit(overwrite:)`` fsyncs and renames over `PATH`, then fsyncs the directory
/// so the rename itself survives a power cut. A crash or a kill before the rename leaves `PATH`
/// as it was (at worst a stray `.tmp-` file next to it); an error, or releasing the value without
/// committing, removes the temporary file.
public final class AtomicOutputFile {
    /// Where the file appears on commit.
    public let path: String
    /// The temporary file being written.
    public let temporaryPath: String
    /// Descriptor of the temporary file, open for writing until ``commit(overwrite:)``.
    public let fd: Int32
    private var isOpen = true
    private var committed = false

    /// Mode of files made here: owner read-write, group read, nothing for others (exports and
    /// backups hold every customer's token).
    public static let mode: mode_t = 0o640

    /// Creates the temporary file next to `path`.
    public init(path: String) throws(OutputError) {
        var template = Array("\(path).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw OutputError.system("cannot create a temporary file next to \(path)", errno: errno)
        }
        self.path = path
        self.temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.fd = fd
        if fchmod(fd, Self.mode) != 0 {
            let code = errno
            close(fd)
            unlink(temporaryPath)
            isOpen = false
            throw OutputError.system("cannot set the mode of \(temporaryPath)", errno: code)
        }
    }

    deinit {
        if isOpen { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    /// Makes the temporary file's content durable and moves it to ``path``.
    ///
    /// With `overwrite` false an existing file at ``path`` is an error and stays untouched (the
    /// check and the move are one step: link(2), which fails if the name exists).
    public func commit(overwrite: Bool = true) throws(OutputError) {
        precondition(!committed, "committed twice")
        // fchmod again: whatever wrote the file (SQLite, for a backup) must not have widened it.
        if fchmod(fd, Self.mode) != 0 {
            throw OutputError.system("cannot set the mode of \(temporaryPath)", errno: errno)
        }
        if fsync(fd) != 0 { throw OutputError.system("cannot write \(path)", errno: errno) }
        isOpen = false
        if close(fd) != 0 { throw OutputError.system("cannot write \(path)", errno: errno) }
        if overwrite {
            guard rename(temporaryPath, path) == 0 else {
                throw OutputError.system("cannot rename \(temporaryPath) to \(path)", errno: errno)
            }
        } else if link(temporaryPath, path) == 0 {
            unlink(temporaryPath)
        } else {
            let code = errno
            if code == EEXIST { throw OutputError("\(path) already exists") }
            // A file system without hard links: check, then rename (not atomic, but close).
            guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == EMLINK else {
                throw OutputError.system("cannot create \(path)", errno: code)
            }
            if access(path, F_OK) == 0 { throw OutputError("\(path) already exists") }
            guard rename(temporaryPath, path) == 0 else {
                throw OutputError.system("cannot rename \(temporaryPath) to \(path)", errno: errno)
            }
        }
        committed = true
        Self.syncDirectory(of: path)
    }

    /// The directory part of `path` (`.` for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Best effort: fsync the directory so a rename survives a power cut. Failing here cannot
    /// undo the rename, so it is not reported.
    static func syncDirectory(of path: String) {
        let dir = Glibc.open(directory(of: path), O_RDONLY | O_DIRECTORY)
        guard dir >= 0 else { return }
        fsync(dir)
        close(dir)
    }
}
