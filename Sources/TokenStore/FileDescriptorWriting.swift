import Glibc

/// The one loop that writes a whole buffer to a descriptor: exports, log lines and CGI answers.
public enum FileDescriptorWriting {
    /// Writes all `count` bytes at `bytes` to `fd`, retrying interrupted and partial writes.
    /// Returns 0 once everything is written, else the `errno` that stopped it (`EIO` when the
    /// descriptor accepted nothing).
    public static func writeAll(_ bytes: UnsafeRawPointer, count: Int, to fd: Int32) -> Int32 {
        var done = 0
        while done < count {
            let written = write(fd, bytes + done, count - done)
            if written > 0 {
                done += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return written < 0 ? errno : EIO
            }
        }
        return 0
    }

    /// Writes all of `bytes` to `fd`; false if that failed.
    @discardableResult
    public static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            return writeAll(base, count: buffer.count, to: fd) == 0
        }
    }
}
