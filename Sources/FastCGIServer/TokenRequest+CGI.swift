import Glibc
import TokenCore

extension TokenRequest {
    /// The request described by CGI variables, from FastCGI parameters or the environment alike.
    init(cgiVariable variable: (String) -> String?, contentLength: Int?, body: [UInt8]) {
        self.init(
            method: variable("REQUEST_METHOD") ?? "",
            contentType: variable("CONTENT_TYPE"),
            contentLength: contentLength,
            body: body,
            queryString: variable("QUERY_STRING") ?? "",
            receivedAt: Int64(time(nil)))
    }
}
