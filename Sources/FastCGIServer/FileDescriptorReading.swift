import Glibc

/// Reads `fd` until its end or until `limit` bytes, retrying interrupted reads.
/// Used for CGI's stdin and for secret files.
func readAll(_ fd: Int32, limit: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limit {
        let wanted = min(chunk.count, limit - bytes.count)
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, wanted) }
        if got < 0 && errno == EINTR { continue }
        if got <= 0 { break }
        bytes += chunk[0..<got]
    }
    return bytes
}
