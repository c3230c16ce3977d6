import TokenCore

/// The store as the router reaches it: FastCGI workers hand in their reader (opened, reopened
/// or failed), plain CGI the one it opened, tests a dictionary.
protocol StoreAccess {
    /// What the handler looks numbers up in.
    associatedtype Lookup: TokenLookup

    /// Runs `body` with the store, or with the error that keeps it closed.
    func withLookup(_ body: (inout Lookup) -> TokenResponse) -> TokenResponse

    /// The store's rows and last import for the metrics scrape (``StoreFigures/unavailable``
    /// if it cannot be read).
    func figures() -> StoreFigures
}

/// What the responder answers for one request, from its CGI variables and body: routing by
/// endpoint, Udesk's query, the health check and the metrics scrape. No sockets and no libfcgi,
/// so every route is tested with values (`RequestRouterTests`); the FastCGI workers and plain
/// CGI both answer through it.
struct RequestRouter: Sendable {
    /// Answers Udesk's query and the health check.
    let handler: TokenHandler
    /// The counters the metrics endpoint shows; nil in plain CGI, whose process lives for one
    /// request and has none to show.
    let metrics: ResponderMetrics?

    /// The endpoint asked for (`TOKEN_ENDPOINT`) and its answer, from the request's CGI
    /// `variables` and `body` (at most the handler's body limit plus one byte).
    func answer<Variables: CGIVariables, Store: StoreAccess>(
        variables: Variables, contentLength: Int?, body: [UInt8], store: Store
    ) -> (Endpoint, TokenResponse) {
        let endpoint = Endpoint(parameter: variables.value("TOKEN_ENDPOINT"))
        switch endpoint {
        case .token:
            let request = TokenRequest(cgi: variables, contentLength: contentLength, body: body)
            return (endpoint, store.withLookup { handler.respond(to: request, lookup: &$0) })
        case .health:
            return (endpoint, store.withLookup { handler.health(lookup: &$0) })
        case .metrics:
            guard let metrics else { return (endpoint, Self.noMetrics) }
            return (endpoint, metrics.render(store: store.figures()))
        }
    }

    /// The metrics endpoint in plain CGI.
    static let noMetrics = TokenResponse(
        status: 404,
        body: Array(#"{"error":"not_found","message":"metrics are only kept in FastCGI mode"}"#.utf8),
        outcome: .rejected(code: "not_found"))
}
