/// What a request asks for: nginx says which through the `TOKEN_ENDPOINT` FastCGI parameter
/// (set in the health and metrics locations); without it, it is Udesk's token query.
enum Endpoint: String, Sendable {
    case token, health, metrics

    init(parameter: String?) {
        self = parameter.flatMap(Endpoint.init(rawValue:)) ?? .token
    }
}
