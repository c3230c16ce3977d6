/// Checks the bytes waiting on a FastCGI connection before libfcgi reads any of them.
///
/// libfcgi trusts the record stream: a PARAMS record whose name and value lengths add up past
/// 2^31 makes it abort the whole process (`fcgiapp.c: Malloc: Assertion`), and a request that
/// trickles in a byte at a time holds a worker for as long as the sender likes. So a worker
/// hands a connection to libfcgi only once one whole, well-formed request is waiting on it:
/// BEGIN_REQUEST, PARAMS up to the empty PARAMS record, STDIN up to the empty STDIN record
/// (or more STDIN than the body limit, which libfcgi then answers with 413). Everything here is
/// a function of the peeked bytes, so it is tested without sockets.
public enum FastCGIRequestScan: Equatable, Sendable {
    /// A whole request is waiting: let libfcgi read it.
    case complete
    /// Well-formed so far, but not all of it has arrived.
    case incomplete
    /// Not a request this responder will read; the connection is closed unread.
    case invalid(String)

    /// FastCGI record types (FastCGI 1.0 specification, section 8).
    enum RecordType: UInt8 {
        case beginRequest = 1
        case abortRequest = 2
        case endRequest = 3
        case params = 4
        case stdin = 5
        case stdout = 6
        case stderr = 7
        case data = 8
        case getValues = 9
        case getValuesResult = 10
        case unknownType = 11
    }

    /// Most parameter bytes a request may carry. nginx sends its `fastcgi_params` (about 1 KiB)
    /// plus one per request header; its own header limits keep that well below this.
    public static let maxParamsBytes = 32 * 1024
    /// Bytes a worker peeks at for a request with a body limit of `maxBody`.
    public static func peekCapacity(maxBody: Int) -> Int {
        8 + 16 + maxParamsBytes + 8 * 64 + maxBody + 8 + 16 + 256
    }

    /// Scans `bytes`, the start of what is waiting on the connection (at most
    /// ``peekCapacity(maxBody:)`` of it); `maxBody` is the largest body the responder reads.
    public static func scan(_ bytes: UnsafeRawBufferPointer, maxBody: Int) -> FastCGIRequestScan {
        var offset = 0
        var requestID: UInt16?
        // The PARAMS content: where it is in `bytes` while it is one record (nginx sends one),
        // copied together once it spans several.
        var paramsRange = 0..<0
        var params: [UInt8] = []
        var paramsCount = 0
        var paramsDone = false
        var stdinBytes = 0
        while true {
            guard bytes.count - offset >= 8 else { return .incomplete }
            let version = bytes[offset]
            guard version == 1 else { return .invalid("record version \(version), not 1") }
            guard let type = RecordType(rawValue: bytes[offset + 1]) else {
                return .invalid("unknown record type \(bytes[offset + 1])")
            }
            let id = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let padding = Int(bytes[offset + 6])
            let contentStart = offset + 8
            let available = bytes.count - contentStart
            switch type {
            case .getValues where id == 0 && requestID == nil:
                guard length <= 1024 else { return .invalid("management record of \(length) bytes") }
            case .beginRequest:
                guard requestID == nil else { return .invalid("BEGIN_REQUEST inside a request") }
                guard id != 0, length == 8 else { return .invalid("malformed BEGIN_REQUEST") }
                requestID = id
            case .params:
                guard let requestID, id == requestID, !paramsDone else { return .invalid("PARAMS out of order") }
                guard paramsCount + length <= maxParamsBytes else {
                    return .invalid("parameters over \(maxParamsBytes) bytes")
                }
                if length == 0 {
                    paramsDone = true
                    let problem =
                        params.isEmpty
                        ? pairProblem(UnsafeRawBufferPointer(rebasing: bytes[paramsRange]))
                        : params.withUnsafeBytes { pairProblem($0) }
                    if let problem { return .invalid(problem) }
                } else {
                    guard available >= length else { return .incomplete }
                    let range = contentStart..<contentStart + length
                    if paramsCount == 0 {
                        paramsRange = range
                    } else {
                        if params.isEmpty {
                            params.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[paramsRange]))
                        }
                        params.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
                    }
                    paramsCount += length
                }
            case .stdin:
                guard let requestID, id == requestID, paramsDone else { return .invalid("STDIN out of order") }
                if length == 0 { return available >= padding ? .complete : .incomplete }
                stdinBytes += length
                // More body than the responder reads: libfcgi reads the start and the answer is 413.
                if stdinBytes > maxBody { return .complete }
            default:
                return .invalid("unexpected \(type) record")
            }
            guard available >= length + padding else { return .incomplete }
            offset = contentStart + length + padding
        }
    }

    /// Why the concatenated PARAMS content `stream` is not a list of name-value pairs that fit
    /// in it exactly, or nil.
    static func pairProblem(_ stream: UnsafeRawBufferPointer) -> String? {
        var index = 0
        func length() -> Int? {
            guard index < stream.count else { return nil }
            if stream[index] & 0x80 == 0 {
                index += 1
                return Int(stream[index - 1])
            }
            guard stream.count - index >= 4 else { return nil }
            let value =
                Int(stream[index] & 0x7F) << 24 | Int(stream[index + 1]) << 16 | Int(stream[index + 2]) << 8
                | Int(stream[index + 3])
            index += 4
            return value
        }
        while index < stream.count {
            guard let name = length(), let value = length() else { return "truncated parameter lengths" }
            guard name <= stream.count - index, value <= stream.count - index - name else {
                return "parameter lengths run past the parameters"
            }
            index += name + value
        }
        return nil
    }
}
