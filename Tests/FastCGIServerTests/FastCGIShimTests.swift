import CFastCGI
import Glibc
import Testing

/// Pins down the libfcgi behaviour the responder relies on through `shim.h`: serving a request
/// on a connection we hand it, keeping or closing that connection as the web server asked, and
/// failing fast (not blocking in accept) when the connection has ended. If a libfcgi upgrade
/// changes any of this, these tests fail before the responder misbehaves.
@Suite("libfcgi connection hand-off", .serialized)
struct FastCGIShimTests {
    init() {
        FCGX_Init()
    }

    /// Encodes one FastCGI record.
    static func record(_ type: UInt8, _ content: [UInt8], id: UInt16 = 1) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0]
            + content
    }

    /// A whole request: BEGIN_REQUEST (responder role unless told), params, stdin.
    static func request(keepConnection: Bool, params: [(String, String)], stdin: [UInt8], role: UInt8 = 1) -> [UInt8] {
        var bytes = record(1, [0, role, keepConnection ? 1 : 0, 0, 0, 0, 0, 0])
        var encoded: [UInt8] = []
        for (name, value) in params {
            encoded += [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
        }
        bytes += record(4, encoded) + record(4, [])
        if !stdin.isEmpty { bytes += record(5, stdin) }
        bytes += record(5, [])
        return bytes
    }

    static func socketPair() -> (server: Int32, client: Int32) {
        var fds: [Int32] = [0, 0]
        let rc = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        precondition(rc == 0)
        return (fds[0], fds[1])
    }

    static func send(_ bytes: [UInt8], to fd: Int32) {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        precondition(written == bytes.count)
    }

    /// Reads what the responder sent until END_REQUEST; returns the STDOUT content.
    static func readResponse(from fd: Int32) -> String {
        var stdout: [UInt8] = []
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while buffer.count >= 8 {
                let length = Int(buffer[4]) << 8 | Int(buffer[5])
                let total = 8 + length + Int(buffer[6])
                guard buffer.count >= total else { break }
                if buffer[1] == 6 { stdout += buffer[8..<8 + length] }
                if buffer[1] == 3 { return String(decoding: stdout, as: UTF8.self) }
                buffer.removeFirst(total)
            }
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { return String(decoding: stdout, as: UTF8.self) }
            buffer += chunk[0..<got]
        }
    }

    func serveOne(on fd: Int32, request: inout FCGX_Request) -> (method: String?, body: String) {
        #expect(token_fcgx_accept_on(&request, fd) == 0)
        let method = FCGX_GetParam("REQUEST_METHOD", request.envp).map { String(cString: $0) }
        var body = [CChar](repeating: 0, count: 256)
        let got = FCGX_GetStr(&body, 255, request.in)
        let answer = "Status: 200 OK\r\n\r\nok"
        _ = FCGX_PutStr(answer, Int32(answer.utf8.count), request.out)
        return (method, String(decoding: body[0..<Int(got)].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    @Test("a kept connection stays open after the request and carries the next one")
    func keepConnection() {
        let (server, client) = Self.socketPair()
        defer { close(client) }
        var request = FCGX_Request()
        FCGX_InitRequest(&request, -1, 0)
        for round in 1...3 {
            Self.send(
                Self.request(
                    keepConnection: true, params: [("REQUEST_METHOD", "POST")], stdin: Array("body\(round)".utf8)),
                to: client)
            let (method, body) = serveOne(on: server, request: &request)
            #expect(method == "POST")
            #expect(body == "body\(round)")
            FCGX_Finish_r(&request)
            #expect(token_fcgx_kept_fd(&request) == server)
            #expect(Self.readResponse(from: client).hasSuffix("\r\n\r\nok"))
        }
        close(server)
    }

    @Test("without FCGI_KEEP_CONN libfcgi closes the connection")
    func closeConnection() {
        let (server, client) = Self.socketPair()
        defer { close(client) }
        var request = FCGX_Request()
        FCGX_InitRequest(&request, -1, 0)
        Self.send(Self.request(keepConnection: false, params: [("REQUEST_METHOD", "GET")], stdin: []), to: client)
        _ = serveOne(on: server, request: &request)
        FCGX_Finish_r(&request)
        #expect(token_fcgx_kept_fd(&request) == -1)
        #expect(fcntl(server, F_GETFD) == -1)  // closed
    }

    @Test("keeping the connection open overrides a request without keep-conn, which the caller then closes")
    func keptOpenForTheCallerToClose() {
        let (server, client) = Self.socketPair()
        defer { close(client) }
        var request = FCGX_Request()
        FCGX_InitRequest(&request, -1, 0)
        Self.send(Self.request(keepConnection: false, params: [("REQUEST_METHOD", "GET")], stdin: []), to: client)
        _ = serveOne(on: server, request: &request)
        #expect(token_fcgx_keep_conn_requested(&request) == 0)
        token_fcgx_keep_open_after_finish(&request)
        FCGX_Finish_r(&request)
        #expect(token_fcgx_kept_fd(&request) == server)
        #expect(fcntl(server, F_GETFD) != -1)  // still open: closing it is the caller's
        close(server)
        #expect(Self.readResponse(from: client).hasSuffix("ok"))
    }

    @Test("another role is refused with END_REQUEST/FCGI_UNKNOWN_ROLE, and the request serves the next connection")
    func refuseRole() {
        var request = FCGX_Request()
        FCGX_InitRequest(&request, -1, 0)
        let (server, client) = Self.socketPair()
        Self.send(
            Self.request(keepConnection: true, params: [("REQUEST_METHOD", "POST")], stdin: Array("x".utf8), role: 2),
            to: client)
        #expect(token_fcgx_accept_on(&request, server) == 0)
        #expect(token_fcgx_is_responder(&request) == 0)
        token_fcgx_refuse_role(&request)
        #expect(fcntl(server, F_GETFD) == -1)  // closed
        var reply = [UInt8](repeating: 0, count: 64)
        let got = reply.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
        // exactly one record: END_REQUEST for request 1, app status 0, protocol status 3
        #expect(Array(reply[0..<max(0, got)]) == [1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0])
        close(client)

        let (next, nextClient) = Self.socketPair()
        defer { close(nextClient) }
        Self.send(
            Self.request(keepConnection: true, params: [("REQUEST_METHOD", "POST")], stdin: Array("y".utf8)),
            to: nextClient)
        let (method, body) = serveOne(on: next, request: &request)
        #expect(token_fcgx_is_responder(&request) != 0)
        #expect(method == "POST" && body == "y")
        FCGX_Finish_r(&request)
        #expect(Self.readResponse(from: nextClient).hasSuffix("ok"))
        close(next)
    }

    @Test("a connection the web server closed fails at once and is closed, without blocking in accept")
    func peerClosed() {
        let (server, client) = Self.socketPair()
        close(client)
        var request = FCGX_Request()
        FCGX_InitRequest(&request, -1, 0)
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        #expect(token_fcgx_accept_on(&request, server) < 0)
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        #expect(end.tv_sec - start.tv_sec < 2)
        #expect(fcntl(server, F_GETFD) == -1)
    }
}
