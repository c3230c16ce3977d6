import Glibc
import Logging
import Testing
import TokenCore

@testable import FastCGIServer

@Suite("request log line")
struct RequestLogLineTests {
    /// The message part of the line `logRequest` writes (after `LEVEL token-responder: `), with
    /// its level.
    func logged(
        _ response: TokenResponse, endpoint: Endpoint = .token, microseconds: Int64, level: Logger.Level = .info
    ) -> (level: String, message: String)? {
        let pipe = TestPipe()
        let logger = ResponderLogging.makeLogger(level: level, fd: pipe.writeFD)
        ResponderLogging.logRequest(logger, response: response, endpoint: endpoint, microseconds: microseconds)
        let line = pipe.text()
        guard !line.isEmpty else { return nil }
        let fields = line.split(separator: " ", maxSplits: 3).map(String.init)
        #expect(fields.count == 4 && fields[2] == "token-responder:" && line.hasSuffix("\n"), "\(line)")
        return (fields[1], String(fields[3].dropLast()))
    }

    let found = TokenResponse(status: 200, body: [], outcome: .found, maskedNumber: "+86138******00")

    @Test("a found number: status, outcome, masked number and latency in milliseconds")
    func foundLine() {
        let line = logged(found, microseconds: 1_005)
        #expect(line?.level == "info")
        #expect(line?.message == "status=200 outcome=found number=+86138******00 latency_ms=1.005 request")
    }

    @Test(
        "latency keeps three decimals",
        arguments: [
            (Int64(0), "0.000"), (5, "0.005"), (42, "0.042"), (100, "0.100"), (999, "0.999"), (12_345, "12.345"),
        ])
    func latency(microseconds: Int64, text: String) {
        #expect(logged(found, microseconds: microseconds)?.message.contains(" latency_ms=\(text) ") == true)
    }

    @Test("a rejected request without a number names its error code; other endpoints are named")
    func rejectedAndEndpoint() {
        let rejected = TokenResponse(status: 400, body: [], outcome: .rejected(code: "invalid_json"))
        #expect(
            logged(rejected, microseconds: 7)?.message == "status=400 outcome=invalid_json latency_ms=0.007 request")
        let health = TokenResponse(status: 200, body: [], outcome: .found)
        let line = logged(health, endpoint: .health, microseconds: 7, level: .debug)
        #expect(line?.message == "status=200 outcome=found endpoint=health latency_ms=0.007 request")
    }

    @Test(
        "health checks and scrapes are logged at debug: not at all at the default level",
        arguments: [Endpoint.health, .metrics])
    func healthAtDebug(endpoint: Endpoint) {
        let ok = TokenResponse(status: 200, body: [], outcome: .found)
        #expect(logged(ok, endpoint: endpoint, microseconds: 7) == nil)
        #expect(logged(ok, endpoint: endpoint, microseconds: 7, level: .debug)?.level == "debug")
        let down = TokenResponse(status: 503, body: [], outcome: .failed(cause: "disk I/O error"))
        #expect(logged(down, endpoint: endpoint, microseconds: 7)?.level == "error", "a failure still says why")
    }

    @Test("nginx's request id ends the line; anything that is not an id is left out")
    func requestID() {
        func line(_ id: String?) -> String? {
            let pipe = TestPipe()
            let logger = ResponderLogging.makeLogger(level: .info, fd: pipe.writeFD)
            ResponderLogging.logRequest(
                logger, response: found, endpoint: .token, microseconds: 5, requestID: RequestID.bytes(id))
            return pipe.text().split(separator: ":", maxSplits: 3).last.map { String($0.dropLast()) }
        }
        #expect(
            line("0f1e2d3c4b5a69788796a5b4c3d2e1f0")?.hasSuffix(" request_id=0f1e2d3c4b5a69788796a5b4c3d2e1f0 request")
                == true)
        #expect(line("a b")?.contains("request_id") == false)
        #expect(line("x\nfake line")?.contains("request_id") == false)
        #expect(line(String(repeating: "a", count: 65))?.contains("request_id") == false)
        #expect(
            line(String(repeating: "a", count: 64))?.contains("request_id=" + String(repeating: "a", count: 64)) == true
        )
        #expect(line("")?.contains("request_id") == false)
    }

    @Test("a server-side failure is an error line with its cause, written even at level error")
    func failure() {
        let failed = TokenResponse(status: 503, body: [], outcome: .failed(cause: "store unreadable"))
        let line = logged(failed, microseconds: 2_000, level: .error)
        #expect(line?.level == "error")
        #expect(line?.message == #"status=503 outcome=failed latency_ms=2.000 cause="store unreadable" request failed"#)
        #expect(logged(found, microseconds: 1, level: .error) == nil)
    }
}
