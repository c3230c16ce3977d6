import CFastCGI
import Glibc

/// Creating the Unix socket FastCGI is served on, with the care libfcgi's `FCGX_OpenSocket`
/// lacks: a real error message instead of `exit()`, CLOEXEC, chosen permissions, and taking
/// the path over atomically from a responder still serving it (zero-downtime upgrades).
public enum ListeningSocket {
    /// A socket this process created: its listening descriptor and the file it bound, so that
    /// shutdown removes the path only while it is still this socket.
    public struct Bound: Sendable {
        /// The listening descriptor (non-blocking, close-on-exec).
        public var fd: Int32
        /// The socket's path.
        public var path: String
        /// Device and inode of the socket file.
        var device: UInt64
        var inode: UInt64
        /// True when a live responder was serving the path and this one took it over.
        public var tookOver: Bool

        /// True while `path` is still the socket this process bound (not one a successor
        /// renamed over it).
        public var isStillAtPath: Bool {
            var info = stat()
            return lstat(path, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
        }
    }

    /// Why the socket could not be created.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// Human-readable reason.
        public var description: String
    }

    /// Backlog of pending connections. nginx opens up to one connection per concurrent request
    /// beyond its keepalive cache, so bursts need room.
    public static let backlog: Int32 = 1024

    /// Creates `path` with `mode` and listens on it. The socket is bound and made listening
    /// under a temporary name in the same folder, then renamed over `path`: a responder still
    /// serving `path` keeps the connections it has and gets no new ones, and no connection
    /// attempt ever finds no socket there (a restart used to fail requests in that gap).
    public static func open(path: String, mode: mode_t) throws(Failure) -> Bound {
        let temporary = path + ".\(getpid()).new"
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard temporary.utf8.count < capacity else {
            throw Failure(description: "socket path is longer than \(capacity - 12) bytes: \(path)")
        }
        let tookOver = try checkReplaceable(path: path)
        unlink(temporary)
        let fd = try listen(on: temporary, mode: mode)
        var info = stat()
        guard lstat(temporary, &info) == 0, rename(temporary, path) == 0 else {
            let reason = errorString()
            close(fd)
            unlink(temporary)
            throw Failure(description: "cannot put the socket in place at \(path): \(reason)")
        }
        return Bound(fd: fd, path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), tookOver: tookOver)
    }

    /// Binds and listens on `path` (which must not exist) with `mode`.
    private static func listen(on path: String, mode: mode_t) throws(Failure) -> Int32 {
        var address = unixAddress(path)
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
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
            unlink(path)
            throw Failure(description: "cannot chmod \(path): \(reason)")
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let reason = errorString()
            close(fd)
            unlink(path)
            throw Failure(description: "cannot listen on \(path): \(reason)")
        }
        return fd
    }

    /// Refuses a `path` that exists and is not a socket; true when a live process is
    /// listening on it (it is then taken over), false for no file or a stale socket.
    private static func checkReplaceable(path: String) throws(Failure) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        var address = unixAddress(path)
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw Failure(description: "socket(): \(errorString())") }
        defer { close(probe) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        } == 0
    }

    /// The address of the Unix socket at `path`, which `open` has checked fits in `sun_path`.
    private static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        return address
    }

    /// Listens on TCP `host`:`port`: the first address the host resolves to that can be bound
    /// (an IPv6 socket serves IPv6 only). Returns the descriptor and whether the address is a
    /// loopback one.
    public static func openTCP(host: String, port: UInt16) throws(Failure) -> (fd: Int32, loopback: Bool) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var failure = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let family = info.pointee.ai_family
            let fd = socket(
                family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if family == AF_INET6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, Glibc.listen(fd, backlog) == 0 else {
                failure = errorString()
                close(fd)
                continue
            }
            let bytes: [UInt8] =
                family == AF_INET
                ? info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) }
                }
                : info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) }
                }
            return (fd, AllowList.isLoopback(bytes))
        }
        throw Failure(description: "cannot listen on \(host):\(port): \(failure)")
    }

    /// True if `fd` is a listening socket (how spawn-fcgi and systemd hand one over on fd 0).
    public static func isListeningSocket(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting != 0
    }

    static func errorString() -> String { String(cString: strerror(errno)) }
}
