/// The endpoint URL under probe, exactly as pasted into Udesk's admin (a shared key included as
/// `?key=…`), and the parts of it the report talks about.
///
/// Only the shape is checked here (scheme, host, port); libcurl parses it again to send the
/// requests. ``masked`` is the only form that may be printed: the `key` value and any password
/// are secrets.
public struct ProbeURL: Sendable, Equatable {
    /// The two schemes Udesk can call.
    public enum Scheme: String, Sendable {
        /// Plain HTTP: works, but the number and the key travel unencrypted.
        case http
        /// HTTPS, what Udesk should use.
        case https
    }

    /// The URL as given; never print it, print ``masked``.
    public let text: String
    /// `http` or `https`.
    public let scheme: Scheme
    /// The host name or address, without brackets for IPv6.
    public let host: String
    /// The port, explicit or the scheme's default.
    public let port: Int

    /// Parses `text`, throwing a ``ProbeUsageError`` that says what is wrong with it.
    public init(_ text: String) throws(ProbeUsageError) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { throw ProbeUsageError("the URL is empty") }
        if bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw ProbeUsageError("the URL contains spaces or control characters: quote it, and encode spaces as %20")
        }
        guard let separator = Self.firstIndex(of: Array("://".utf8), in: bytes[...]) else {
            throw ProbeUsageError("not a URL: expected https://HOST/PATH, as configured in Udesk")
        }
        let schemeText = String(decoding: bytes[..<separator], as: UTF8.self).lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            throw ProbeUsageError("unsupported scheme \"\(schemeText)\": Udesk calls http:// or https:// URLs")
        }
        let afterScheme = bytes[(separator + 3)...]
        let authorityEnd =
            afterScheme.firstIndex(where: {
                $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
            })
            ?? bytes.endIndex
        var authority = bytes[afterScheme.startIndex..<authorityEnd]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            authority = authority[(at + 1)...]
        }
        let hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else {
                throw ProbeUsageError("the URL's IPv6 address has no closing ]")
            }
            hostBytes = authority[(authority.startIndex + 1)..<close]
            let rest = authority[(close + 1)...]
            if let colon = rest.first {
                guard colon == UInt8(ascii: ":") else {
                    throw ProbeUsageError("unexpected text after the URL's IPv6 address")
                }
                portBytes = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = authority[..<colon]
            portBytes = authority[(colon + 1)...]
        } else {
            hostBytes = authority
        }
        if hostBytes.isEmpty { throw ProbeUsageError("the URL has no host name") }
        var port = scheme == .https ? 443 : 80
        if let portBytes {
            guard !portBytes.isEmpty, portBytes.count <= 5,
                portBytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let value = Int(String(decoding: portBytes, as: UTF8.self)), (1...65535).contains(value)
            else {
                throw ProbeUsageError("the URL's port is not a number from 1 to 65535")
            }
            port = value
        }
        self.text = text
        self.scheme = scheme
        self.host = String(decoding: hostBytes, as: UTF8.self)
        self.port = port
    }

    /// The URL with the `key` query value and any password replaced by `***`.
    public var masked: String { Self.maskingSecrets(in: text) }

    /// `text` with every URL secret replaced by `***`: the value of each `key=` query parameter
    /// (after `?`, `&` or `;`) and the password of a `user:password@` part. Applied to the URL
    /// and to anything that may quote it (redirect targets, libcurl's error messages).
    public static func maskingSecrets(in text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let stars = Array("***".utf8)
        let key = Array("key=".utf8)
        let schemeSeparator = Array("://".utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // key=VALUE after a query delimiter.
            if byte == UInt8(ascii: "?") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";"),
                bytes[(index + 1)...].starts(with: key)
            {
                out.append(byte)
                out.append(contentsOf: key)
                index += 1 + key.count
                // Already masked: keep it, so masking twice changes nothing.
                if bytes[index...].starts(with: stars) {
                    out.append(contentsOf: stars)
                    index += stars.count
                    continue
                }
                let valueStart = index
                while index < bytes.count, !isEndOfQueryValue(bytes[index]) {
                    // "…?key=abc: more words": a colon then a space ends the URL in a sentence.
                    if bytes[index] == UInt8(ascii: ":"), index + 1 == bytes.count || bytes[index + 1] <= 0x20 { break }
                    index += 1
                }
                if index > valueStart { out.append(contentsOf: stars) }
                continue
            }
            // scheme://user:password@ -> scheme://user:***@
            if bytes[index...].starts(with: schemeSeparator) {
                out.append(contentsOf: schemeSeparator)
                index += schemeSeparator.count
                var end = index
                while end < bytes.count, !isEndOfAuthority(bytes[end]) { end += 1 }
                let authority = bytes[index..<end]
                if let at = authority.lastIndex(of: UInt8(ascii: "@")),
                    let colon = authority[..<at].firstIndex(of: UInt8(ascii: ":"))
                {
                    out.append(contentsOf: bytes[index...colon])
                    out.append(contentsOf: stars)
                    index = at
                }
                continue
            }
            out.append(byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isEndOfQueryValue(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: ";") || byte <= 0x20
            || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == UInt8(ascii: ">")
    }

    private static func isEndOfAuthority(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") || byte <= 0x20
    }

    private static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        var index = haystack.startIndex
        while index + needle.count <= haystack.endIndex {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
