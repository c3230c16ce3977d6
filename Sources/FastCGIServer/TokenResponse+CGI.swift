import TokenCore

extension TokenResponse {
    /// The response in CGI form (`Status:` line, headers, blank line, body), which is also what a
    /// FastCGI responder writes to its output stream. Built in one buffer, piece by piece, so it
    /// goes out in one write at the least cost per answer (`docs/PERFORMANCE.md`).
    func cgiBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + body.count)
        out.appendUTF8("Status: ")
        out.appendUTF8(String(status))
        out.append(UInt8(ascii: " "))
        out.appendUTF8(HTTPStatus.reasonPhrase(status))
        out.appendUTF8("\r\n")
        forEachHeader { name, value in
            out.appendUTF8(name)
            out.appendUTF8(": ")
            out.appendUTF8(value)
            out.appendUTF8("\r\n")
        }
        out.appendUTF8("\r\n")
        out.append(contentsOf: body)
        return out
    }
}
