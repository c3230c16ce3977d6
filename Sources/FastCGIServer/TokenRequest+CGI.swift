import Glibc
import TokenCore

extension TokenRequest {
    /// The request described by CGI variables, from FastCGI parameters or the environment alike.
    init<Variables: CGIVariables>(cgi variables: Variables, contentLength: Int?, body: [UInt8]) {
        self.init(
            method: variables.value("REQUEST_METHOD") ?? "",
            contentType: variables.value("CONTENT_TYPE"),
            contentLength: contentLength,
            body: body,
            queryString: variables.value("QUERY_STRING") ?? "",
            receivedAt: Int64(time(nil)))
    }
}
