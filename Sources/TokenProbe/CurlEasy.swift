import CCurl
import Glibc

/// One libcurl easy handle set up to send Udesk's request, reused across transfers so a
/// kept-alive connection is reused as Udesk's client may. Knows nothing about the report:
/// it performs one transfer and returns what libcurl recorded.
final class CurlEasy {
    /// What libcurl recorded about one transfer.
    struct Transfer {
        /// libcurl's result code (0 = an HTTP answer was received, whatever its status).
        var code: Int
        /// libcurl's error text for a failed transfer (may quote the URL: mask before printing).
        var errorText: String
        var status: Int
        var contentType: String?
        var redirectURL: String?
        var body: [UInt8]
        var bodyTruncated: Bool
        var microseconds: Int64
        /// Time until connected (TLS handshake included); 0 if the connection never completed.
        var connectMicroseconds: Int64
        var newConnections: Int
        var osErrno: Int
        /// OpenSSL's X509_V_* verification result (0 = valid).
        var verifyResult: Int
        /// `Start date:` / `Expire date:` of the leaf certificate, when a handshake just happened.
        var leafStartDate: String?
        var leafExpireDate: String?
    }

    private let handle: UnsafeMutableRawPointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let sink = ResponseSink()
    private let connectOnly: Bool

    /// Sets up a handle. `connectOnly` makes transfers stop after the TLS handshake (used to
    /// fetch a refused certificate's dates with verification off). Nil if libcurl fails.
    init?(timeoutMilliseconds: Int, trust: ProbeConfiguration.TrustMode, connectOnly: Bool = false) {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.connectOnly = connectOnly
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        for line in ["Content-Type: application/json;charset=utf8", "Expect:"] {
            headers = curl_slist_append(headers, line)
        }
        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        setLong(CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds)
        setLong(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        setString(CURLOPT_PROTOCOLS_STR, "http,https")
        setLong(CURLOPT_FOLLOWLOCATION, 0)
        setLong(CURLOPT_CERTINFO, 1)
        setString(CURLOPT_USERAGENT, "tokenctl-probe")
        setPointer(CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))
        setPointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        setPointer(CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        token_curl_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
            let length = size * count
            if let data, length > 0 { sink.append(UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        }
        switch trust {
        case .systemStore:
            break
        case .caFile(let path):
            setString(CURLOPT_CAINFO, path)
            setString(CURLOPT_CAPATH, nil)
        case .insecure:
            setLong(CURLOPT_SSL_VERIFYPEER, 0)
            setLong(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if connectOnly {
            setLong(CURLOPT_CONNECT_ONLY, 1)
            setLong(CURLOPT_SSL_VERIFYPEER, 0)
            setLong(CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            setLong(CURLOPT_POST, 1)
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
        errorBuffer.deallocate()
    }

    /// POSTs `body` to `url` (or only connects, for a connect-only handle) and records the outcome.
    func perform(url: String, body: [UInt8]) -> Transfer {
        sink.reset()
        errorBuffer[0] = 0
        setString(CURLOPT_URL, url)
        if !connectOnly {
            // COPYPOSTFIELDS copies POSTFIELDSIZE bytes, so the body need not outlive this call.
            setLong(CURLOPT_POSTFIELDSIZE, body.count)
            body.withUnsafeBytes { bytes in
                _ = token_curl_setopt_pointer(
                    handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            }
        }
        let code = Int(curl_easy_perform(handle).rawValue)
        var errorText = String(cString: errorBuffer)
        if errorText.isEmpty && code != 0 { errorText = String(cString: curl_easy_strerror(CURLcode(UInt32(code)))) }
        var transfer = Transfer(
            code: code, errorText: errorText, status: getLong(CURLINFO_RESPONSE_CODE),
            contentType: getString(CURLINFO_CONTENT_TYPE), redirectURL: getString(CURLINFO_REDIRECT_URL),
            body: sink.bytes, bodyTruncated: sink.truncated, microseconds: getOffset(CURLINFO_TOTAL_TIME_T),
            connectMicroseconds: getOffset(CURLINFO_CONNECT_TIME_T),
            newConnections: getLong(CURLINFO_NUM_CONNECTS), osErrno: getLong(CURLINFO_OS_ERRNO),
            verifyResult: getLong(CURLINFO_SSL_VERIFYRESULT))
        (transfer.leafStartDate, transfer.leafExpireDate) = leafCertificateDates()
        return transfer
    }

    /// The leaf certificate's `Start date` and `Expire date` fields, if the last transfer did a
    /// TLS handshake (libcurl has no certificate info for a reused connection).
    private func leafCertificateDates() -> (String?, String?) {
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard token_curl_getinfo_certinfo(handle, &info) == CURLE_OK, let info, info.pointee.num_of_certs > 0,
            let chain = info.pointee.certinfo
        else { return (nil, nil) }
        var start: String?
        var expire: String?
        var node = chain[0]
        while let current = node {
            if let data = current.pointee.data {
                let field = String(cString: data)
                if field.hasPrefix("Start date:") { start = String(field.dropFirst("Start date:".count)) }
                if field.hasPrefix("Expire date:") { expire = String(field.dropFirst("Expire date:".count)) }
            }
            node = current.pointee.next
        }
        return (start, expire)
    }

    // MARK: - The shim's typed setopt/getinfo

    private func setLong(_ option: CURLoption, _ value: Int) {
        _ = token_curl_setopt_long(handle, option, value)
    }

    private func setString(_ option: CURLoption, _ value: String?) {
        if let value {
            _ = token_curl_setopt_string(handle, option, value)
        } else {
            _ = token_curl_setopt_string(handle, option, nil)
        }
    }

    private func setPointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) {
        _ = token_curl_setopt_pointer(handle, option, value)
    }

    private func getLong(_ info: CURLINFO) -> Int {
        var value = 0
        return token_curl_getinfo_long(handle, info, &value) == CURLE_OK ? value : 0
    }

    private func getOffset(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        return token_curl_getinfo_off_t(handle, info, &value) == CURLE_OK ? Int64(value) : 0
    }

    private func getString(_ info: CURLINFO) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard token_curl_getinfo_string(handle, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }
}

/// Collects a response body for the write callback, up to ``HTTPAnswer/maximumBodyBytes``.
private final class ResponseSink {
    var bytes: [UInt8] = []
    var truncated = false

    func reset() {
        bytes.removeAll(keepingCapacity: true)
        truncated = false
    }

    func append(_ data: UnsafeRawBufferPointer) {
        let room = HTTPAnswer.maximumBodyBytes - bytes.count
        if data.count > room { truncated = true }
        bytes.append(contentsOf: data.prefix(max(0, room)))
    }
}
