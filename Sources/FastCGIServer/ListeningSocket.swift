import CFastCGI
import Glibc

/// Creating the Unix socket FastCGI is served on, with the care libfcgi's `FCGX_OpenSocket`
/// lacks: a real error message instead of `exit()`, CLOEXEC, chosen permissions, and refusing
/// to remove a socket another live responder is still listening on.
public enum ListeningSocket {
    /// Why the socket could not be created.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// Human-readable reason.
        public var description: String
    }

    /// Backlog of pending connections. nginx opens up to one connection per concurrent request
    /// beyond its keepalive cache, so bursts need room.
    public static let backlog: Int32 = 1024

    /// Creates, binds and listens on `path` with `mode`; returns the non-blocking listening fd.
    public static func open(path: String, mode: mode_t) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw Failure(description: "socket path is longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        try removeStale(path: path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): \(errorString())") }
        // Bind under a restrictive umask, then set the exact mode: no window where the socket
        // is more open than asked.
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(oldMask)
        guard bound == 0 else {
            let reason = errorString()
            close(fd)
            throw Failure(description: "cannot bind \(path): \(reason)")
        }
        guard chmod(path, mode) == 0 else {
            let reason = errorString()
            close(fd)
            throw Failure(description: "cannot chmod \(path): \(reason)")
        }
        guard listen(fd, backlog) == 0 else {
            let reason = errorString()
            close(fd)
            throw Failure(description: "cannot listen on \(path): \(reason)")
        }
        return fd
    }

    /// Removes a leftover socket file from a previous run, but not a live one and not a file
    /// that is not a socket.
    private static func removeStale(path: String, address: sockaddr_un) throws(Failure) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw Failure(description: "socket(): \(errorString())") }
        defer { close(probe) }
        var target = address
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 {
            throw Failure(description: "another process is already serving on \(path)")
        }
        unlink(path)
    }

    /// True if `fd` is a listening socket (how spawn-fcgi and systemd hand one over on fd 0).
    public static func isListeningSocket(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
    }

    static func errorString() -> String { String(cString: strerror(errno)) }
}
