/// nginx's `$request_id` as the responder receives it (the `REQUEST_ID` FastCGI parameter the
/// shipped locations set, or the CGI variable fcgiwrap passes on) and logs it: the same
/// `request_id=` is in nginx's `udesk_token` access log line, so one id joins the two lines.
///
/// The value is configuration, not the client's, but a location that passed a request header
/// (`$http_x_request_id`) would hand the client the log line: only 1–64 letters, digits, `-`,
/// `_`, `.` and `:` are kept, anything else is left out.
enum RequestID {
    /// Longest id logged (nginx's are 32 hex digits).
    static let maxLength = 64

    /// Replaces `bytes` with the id `value` points at, or leaves them empty when there is none
    /// or it is not one. Copies into `bytes`' capacity: no allocation per request once it has
    /// `maxLength`.
    static func read(_ value: UnsafePointer<CChar>?, into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        guard var next = value else { return }
        while true {
            let byte = UInt8(bitPattern: next.pointee)
            if byte == 0 { return }
            guard bytes.count < maxLength, isAllowed(byte) else {
                bytes.removeAll(keepingCapacity: true)
                return
            }
            bytes.append(byte)
            next += 1
        }
    }

    /// The id in `text`, as ``read(_:into:)`` keeps it (tests, plain CGI).
    static func bytes(_ text: String?) -> [UInt8] {
        guard let text else { return [] }
        var bytes: [UInt8] = []
        text.withCString { read($0, into: &bytes) }
        return bytes
    }

    /// Appends the id (ASCII, checked by `read`) to `line`.
    static func append(_ bytes: [UInt8], to line: inout String) {
        for byte in bytes { line.unicodeScalars.append(Unicode.Scalar(byte)) }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: ":"):
            true
        default: false
        }
    }
}
