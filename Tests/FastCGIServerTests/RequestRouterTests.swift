import Glibc
import Testing
import TokenCore
import TokenStore

@testable import FastCGIServer

/// A store for the router: a dictionary, or the error that keeps the store closed.
struct FakeStore: StoreAccess {
    struct Lookup: TokenLookup {
        var tokens: [String: String]
        var failure: StoreError?

        mutating func token(forKey key: String) throws -> String? {
            if let failure { throw failure }
            return tokens[key]
        }

        mutating func mintToken(forKey key: String) throws -> String? {
            if let failure { throw failure }
            return "mt1_\(key.count)"
        }

        mutating func checkHealth() throws {
            if let failure { throw failure }
        }
    }

    var tokens: [String: String] = ["+8613800138000": "cust-1"]
    var failure: StoreError?
    var rows: Int? = 1
    var lastImportTime: Int64?

    func withLookup(_ body: (inout Lookup) -> TokenResponse) -> TokenResponse {
        var lookup = Lookup(tokens: tokens, failure: failure)
        return body(&lookup)
    }

    func figures() -> StoreFigures {
        guard let rows else { return .unavailable }
        return StoreFigures(available: true, rows: rows, lastImportTime: lastImportTime)
    }
}

@Suite("Routing a request to its answer, without sockets")
struct RequestRouterTests {
    static let udeskBody = Array(#"{"timestamp": 1501124998, "number": 13800138000}"#.utf8)

    let router = RequestRouter(handler: TokenHandler(), metrics: ResponderMetrics())

    /// CGI variables from a dictionary.
    struct Variables: CGIVariables {
        var values: [String: String]
        func value(_ name: StaticString) -> String? { values["\(name)"] }
    }

    /// The CGI variables of a POST from Udesk, plus `extra`.
    func variables(_ extra: [String: String] = [:]) -> Variables {
        Variables(
            values: ["REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json;charset=utf8"].merging(extra) { $1 })
    }

    func answer(
        _ extra: [String: String] = [:], body: [UInt8] = udeskBody, store: FakeStore = FakeStore(),
        router: RequestRouter? = nil
    ) -> (endpoint: Endpoint, status: Int, body: String, response: TokenResponse) {
        let (endpoint, response) = (router ?? self.router).answer(
            variables: variables(extra), contentLength: body.count, body: body, store: store)
        return (endpoint, response.status, String(decoding: response.body, as: UTF8.self), response)
    }

    @Test("without TOKEN_ENDPOINT it is Udesk's query, answered from the store")
    func tokenQuery() {
        let result = answer()
        #expect(result.endpoint == .token)
        #expect(result.status == 200)
        #expect(result.body == #"{"customer_token":"cust-1"}"#)
    }

    @Test("an unknown TOKEN_ENDPOINT value is Udesk's query too")
    func unknownEndpoint() {
        #expect(answer(["TOKEN_ENDPOINT": "admin"]).endpoint == .token)
    }

    @Test("the request's method, type and body come from the CGI variables")
    func requestFromVariables() {
        #expect(answer(["REQUEST_METHOD": "GET"]).status == 405)
        #expect(answer(["CONTENT_TYPE": "text/plain"]).status == 415)
        #expect(answer(body: []).body.contains("empty_body"))
    }

    @Test("a store that cannot be opened is a 500 store_unavailable; a client mistake keeps its own status")
    func storeFailure() {
        let broken = FakeStore(failure: StoreError(.cannotOpen, "cannot open token store /x: no such file"))
        let failed = answer(store: broken)
        #expect(failed.status == 500)
        #expect(failed.body.contains(#""error":"store_unavailable""#))
        #expect(!failed.body.contains("/x"), "the cause is for the log only")
        if case .failed(let cause) = failed.response.outcome {
            #expect(cause.contains("/x"))
        } else {
            Issue.record("outcome \(failed.response.outcome)")
        }
        #expect(answer(["REQUEST_METHOD": "GET"], store: broken).status == 405)
    }

    @Test("health: 200 ok from a store that answers, 503 from one that does not")
    func health() {
        let ok = answer(["TOKEN_ENDPOINT": "health"])
        #expect(ok.endpoint == .health)
        #expect(ok.status == 200 && ok.body == #"{"status":"ok"}"#)
        let down = answer(
            ["TOKEN_ENDPOINT": "health"], store: FakeStore(failure: StoreError(.database, "disk I/O error")))
        #expect(down.status == 503 && down.body == #"{"status":"unavailable"}"#)
    }

    @Test("health needs no body, method or content type")
    func healthIgnoresRequest() {
        #expect(
            answer(["TOKEN_ENDPOINT": "health", "REQUEST_METHOD": "GET", "CONTENT_TYPE": ""], body: []).status == 200)
    }

    @Test("metrics: Prometheus text with the store's row count and the answers recorded so far")
    func metrics() {
        let metrics = ResponderMetrics()
        let router = RequestRouter(handler: TokenHandler(), metrics: metrics)
        metrics.record(answer().response, microseconds: 300)
        let scrape = answer(["TOKEN_ENDPOINT": "metrics"], store: FakeStore(rows: 42), router: router)
        #expect(scrape.endpoint == .metrics)
        #expect(scrape.status == 200)
        #expect(scrape.response.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(scrape.body.contains("token_responder_store_rows 42"))
        #expect(scrape.body.contains(#"token_responder_requests_total{status="200",outcome="found"} 1"#))
    }

    @Test("health checks and scrapes are counted apart from Udesk's queries, and not in the latency histogram")
    func healthCountedApart() {
        let metrics = ResponderMetrics()
        let router = RequestRouter(handler: TokenHandler(), metrics: metrics)
        for _ in 0..<4 {
            let health = answer(["TOKEN_ENDPOINT": "health"], router: router)
            metrics.record(health.response, endpoint: health.endpoint, microseconds: 100)
        }
        metrics.record(answer(router: router).response, endpoint: .token, microseconds: 300)
        let first = answer(["TOKEN_ENDPOINT": "metrics"], router: router)
        metrics.record(first.response, endpoint: first.endpoint, microseconds: 50)
        let text = answer(["TOKEN_ENDPOINT": "metrics"], router: router).body
        #expect(text.contains(#"token_responder_requests_total{status="200",outcome="found"} 1"#))
        #expect(text.contains("token_responder_request_duration_seconds_count 1"))
        #expect(text.contains(#"token_responder_health_checks_total{status="200"} 4"#))
        #expect(text.contains("token_responder_metrics_scrapes_total 1"))
    }

    @Test("the server's and the store's series: build, workers, backlog, refusals, dropped lines, import and age")
    func serverSeries() {
        let metrics = ResponderMetrics(version: "9.8.7")
        metrics.readServerStatus { ServerStatus(workers: 4, busy: 1, waiting: 3, droppedLogLines: 12) }
        metrics.refused(.allowList)
        metrics.refused(.allowList)
        metrics.refused(.malformed)
        let router = RequestRouter(handler: TokenHandler(), metrics: metrics)
        let store = FakeStore(rows: 5, lastImportTime: Int64(time(nil)) - 3600)
        let text = answer(["TOKEN_ENDPOINT": "metrics"], store: store, router: router).body
        #expect(text.contains(#"token_responder_build_info{version="9.8.7"} 1.0"#))
        #expect(text.contains("token_responder_start_time_seconds "))
        #expect(text.contains("token_responder_workers_busy 1.0\n"))
        #expect(text.contains("token_responder_workers_idle 3.0\n"))
        #expect(text.contains("token_responder_connections_waiting 3.0\n"))
        #expect(text.contains(#"token_responder_connections_refused_total{reason="allow_list"} 2"#))
        #expect(text.contains(#"token_responder_connections_refused_total{reason="malformed"} 1"#))
        #expect(text.contains(#"token_responder_connections_refused_total{reason="request_timeout"} 0"#))
        #expect(text.contains("token_responder_log_lines_dropped_total 12\n"))
        #expect(text.contains("token_responder_store_up 1.0\n"))
        #expect(text.contains("token_responder_store_rows 5.0\n"))
        let age = text.split(separator: "\n").first { $0.hasPrefix("token_responder_store_age_seconds ") }
        #expect(age.flatMap { Double($0.split(separator: " ")[1]) }.map { (3600...3605).contains($0) } == true)
        // a second scrape adds no dropped lines that were already counted
        let again = answer(["TOKEN_ENDPOINT": "metrics"], store: store, router: router).body
        #expect(again.contains("token_responder_log_lines_dropped_total 12\n"))
    }

    @Test("an unreadable store is store_up 0; a store never imported has no age and no import time")
    func storeDownAndNeverImported() {
        let router = RequestRouter(handler: TokenHandler(), metrics: ResponderMetrics())
        let fresh = answer(["TOKEN_ENDPOINT": "metrics"], store: FakeStore(rows: 2), router: router).body
        #expect(fresh.contains("token_responder_store_up 1.0\n"))
        #expect(!fresh.contains("token_responder_store_age_seconds"))
        #expect(!fresh.contains("token_responder_store_last_import_timestamp_seconds"))
        let down = answer(["TOKEN_ENDPOINT": "metrics"], store: FakeStore(rows: nil), router: router).body
        #expect(down.contains("token_responder_store_up 0.0\n"))
    }

    @Test("metrics in plain CGI: a 404 JSON error, since the process keeps no counters")
    func metricsInCGI() {
        let cgi = RequestRouter(handler: TokenHandler(), metrics: nil)
        let result = answer(["TOKEN_ENDPOINT": "metrics"], router: cgi)
        #expect(result.status == 404)
        #expect(result.body.contains(#""error":"not_found""#))
    }

    @Test("the CGI form has a Status line, headers, a blank line and the body")
    func cgiForm() {
        let response = RequestError.methodNotAllowed.response
        let text = String(decoding: response.cgiBytes(), as: UTF8.self)
        #expect(text.hasPrefix("Status: 405 Method Not Allowed\r\nContent-Type: application/json; charset=utf-8\r\n"))
        #expect(text.contains("\r\nAllow: POST\r\n\r\n{\"error\":\"method_not_allowed\""))
    }

    @Test("a bad configuration is a 500 server_misconfigured, not a store failure")
    func misconfigured() {
        let response = RequestError.misconfigured(cause: "TOKEN_COUNTRY_CODE must be a calling code").response
        #expect(response.status == 500)
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""error":"server_misconfigured""#))
    }
}
