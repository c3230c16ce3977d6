/// Where `--socket` says to serve FastCGI: a Unix socket path, or TCP `HOST:PORT` /
/// `[IPV6]:PORT` (as php-fpm's `listen = 127.0.0.1:9000`).
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A Unix socket file.
    case unix(path: String)
    /// A TCP address: a host name, an IPv4 or an IPv6 address (without brackets), and a port.
    case tcp(host: String, port: UInt16)

    /// Reads `text`: `HOST:PORT` and `[IPV6]:PORT` are TCP; a value with a `/`, or without a
    /// `:`, is a path; anything else (`host:`, `a:b`, `[::1]`) is refused.
    public init(_ text: String) throws(ListeningSocket.Failure) {
        let refused = ListeningSocket.Failure(
            description:
                "--socket must be a Unix socket path or HOST:PORT / [IPV6]:PORT (like 127.0.0.1:9000 or [::1]:9000), got '\(text)'"
        )
        guard !text.isEmpty else { throw refused }
        if text.contains("/") || !text.contains(":") {
            self = .unix(path: text)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw refused
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { throw refused }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw refused }
            host = parts[0]
            portText = parts[1]
        }
        guard !host.isEmpty, let port = UInt16(portText), port > 0 else { throw refused }
        self = .tcp(host: String(host), port: port)
    }

    /// `path`, `host:port` or `[v6]:port`.
    public var description: String {
        switch self {
        case .unix(let path): path
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
