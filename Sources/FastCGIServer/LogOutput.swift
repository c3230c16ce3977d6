import Glibc
import Logging

/// Where the responder's log lines go: stderr, or the file of `--log-file` (`TOKEN_LOG_FILE`).
///
/// Under systemd, stderr is a stream to the journal, which takes a `<N>` syslog priority at
/// the start of a line as the line's priority (sd-daemon(3)), so that
/// `journalctl -u token-responder -p warning` shows warnings and worse. Lines get that prefix
/// only when stderr really is the stream systemd connected: `JOURNAL_STREAM` names its device
/// and inode, and a child whose stderr was redirected inherits the variable but not the
/// stream. A log file always gets plain lines.
///
/// A log file is opened for appending and reopened on SIGHUP (logrotate's `postrotate`): the
/// new file is put on the same descriptor number with `dup2`, so the log writer thread and
/// every logger keep their descriptor and no line is written to the renamed file once the
/// reopen has returned.
public final class LogOutput: Sendable {
    /// The descriptor every line is written to.
    public let fd: Int32
    /// True when each line starts with its syslog priority (`<6>` for info).
    public let priorities: Bool
    /// The log file, nil for stderr.
    public let path: String?

    private init(fd: Int32, priorities: Bool, path: String?) {
        self.fd = fd
        self.priorities = priorities
        self.path = path
    }

    /// stderr, with priorities when it is the journal stream `JOURNAL_STREAM` names.
    public static func standardError() -> LogOutput {
        standardError(journalStream: ProcessEnvironment().value("JOURNAL_STREAM"))
    }

    /// stderr, with priorities when it is the stream `journalStream` (`DEVICE:INODE`) names.
    static func standardError(journalStream: String?) -> LogOutput {
        LogOutput(fd: 2, priorities: journalStream.map { isStream($0, fd: 2) } ?? false, path: nil)
    }

    /// The file at `path`, opened for appending (created with mode 0640 if missing).
    public static func file(_ path: String) throws(LogFileError) -> LogOutput {
        LogOutput(fd: try open(path), priorities: false, path: path)
    }

    /// Opens the log file again at its path (after logrotate renamed it) onto the same
    /// descriptor; nil on success or for stderr, else why the old file is still written to.
    public func reopen() -> String? {
        guard let path else { return nil }
        let fresh: Int32
        do {
            fresh = try Self.open(path)
        } catch {
            return error.description
        }
        defer { close(fresh) }
        guard dup2(fresh, fd) >= 0 else {
            return "cannot reopen the log file \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Opens `path` for appending.
    private static func open(_ path: String) throws(LogFileError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0o640)
        guard fd >= 0 else { throw LogFileError(path: path, cause: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw LogFileError(path: path, cause: "it is a directory")
        }
        return fd
    }

    /// True when `fd` is the stream `DEVICE:INODE` (`JOURNAL_STREAM`'s form) names.
    static func isStream(_ value: String, fd: Int32) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// The syslog priority prefix of `level`: `<7>` debug (and trace) … `<2>` critical.
    static func priority(_ level: Logger.Level) -> StaticString {
        switch level {
        case .trace, .debug: "<7>"
        case .info: "<6>"
        case .notice: "<5>"
        case .warning: "<4>"
        case .error: "<3>"
        case .critical: "<2>"
        }
    }
}

/// The log file cannot be opened for appending.
public struct LogFileError: Error, Sendable, CustomStringConvertible {
    /// The path given.
    public var path: String
    /// The system's reason.
    public var cause: String

    /// What is wrong, naming the file.
    public var description: String { "cannot open the log file \(path) for appending: \(cause)" }
}
