import Glibc
import TokenCore

/// Which peers may open a FastCGI connection over TCP (`--allow-from`, `TOKEN_ALLOW_FROM`, and
/// libfcgi's `FCGI_WEB_SERVER_ADDRS`): addresses and CIDR ranges, IPv4 and IPv6. FastCGI has no
/// authentication, so anyone who can connect can look up every customer.
public struct AllowList: Sendable, Equatable, CustomStringConvertible {
    /// One address or range, as bytes (4 or 16) and a prefix length.
    struct Range: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for index in bytes.indices where left > 0 {
                let bits = min(8, left)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if address[index] & mask != bytes[index] & mask { return false }
                left -= bits
            }
            return true
        }
    }

    private var ranges: [Range]
    /// True for `any`: every peer is allowed (said explicitly).
    public let allowsEveryone: Bool
    private let text: String

    /// Reads `ADDR[,ADDR…]` (`127.0.0.1`, `10.0.0.0/8`, `::1`, `[::1]`, `fd00::/8`) or `any`.
    public init(_ text: String) throws(ListeningSocket.Failure) {
        self.text = text
        let items = text.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw ListeningSocket.Failure(description: "the allow-list is empty") }
        if items == ["any"] {
            ranges = []
            allowsEveryone = true
            return
        }
        allowsEveryone = false
        ranges = []
        for item in items {
            var address = item
            var prefix: Int?
            if let slash = item.firstIndex(of: "/") {
                address = String(item[..<slash])
                guard let bits = Int(item[item.index(after: slash)...]) else { throw Self.invalid(item) }
                prefix = bits
            }
            if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            guard let bytes = Self.parse(address) else { throw Self.invalid(item) }
            let bits = prefix ?? bytes.count * 8
            guard (0...(bytes.count * 8)).contains(bits) else { throw Self.invalid(item) }
            ranges.append(Range(bytes: bytes, prefix: bits))
        }
    }

    private static func invalid(_ item: String) -> ListeningSocket.Failure {
        ListeningSocket.Failure(
            description:
                "not an address or CIDR range in the allow-list: '\(item)' (e.g. 127.0.0.1, 10.0.0.0/24, ::1, any)")
    }

    /// The 4 or 16 bytes of a numeric IPv4 or IPv6 address.
    private static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// True when the peer `bytes` (4 or 16; an IPv4-mapped IPv6 address counts as IPv4) may connect.
    func allows(_ bytes: [UInt8]) -> Bool {
        if allowsEveryone { return true }
        var address = bytes
        if address.count == 16 && address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF
        {
            address = Array(address[12...])
        }
        return ranges.contains { $0.contains(address) }
    }

    /// The peer of the connected socket `fd` as bytes and text, or nil for a Unix socket.
    static func peer(of fd: Int32) -> (bytes: [UInt8], text: String)? {
        address(of: fd, getpeername)
    }

    /// The local address of socket `fd` (a listener handed over on fd 0), or nil for a Unix socket.
    public static func localAddressIsLoopback(of fd: Int32) -> Bool? {
        address(of: fd, getsockname).map { isLoopback($0.bytes) }
    }

    private static func address(
        of fd: Int32, _ get: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> (bytes: [UInt8], text: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { get(fd, $0, &length) }
        }
        guard got == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(storage.ss_family) {
        case AF_INET:
            var address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }.sin_addr
            inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            return (withUnsafeBytes(of: &address) { Array($0) }, String(cString: text))
        case AF_INET6:
            var address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }.sin6_addr
            inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            return (withUnsafeBytes(of: &address) { Array($0) }, String(cString: text))
        default:
            return nil
        }
    }

    /// True when every address `bytes` (4 or 16) is on this machine only (127.0.0.0/8, ::1).
    static func isLoopback(_ bytes: [UInt8]) -> Bool {
        bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// As given.
    public var description: String { text }
}
