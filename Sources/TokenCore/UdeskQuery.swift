/// The fields of Udesk's customer_token query that this service uses.
public struct UdeskQuery: Sendable, Equatable {
    /// The caller's number as written: a JSON string's content, or a JSON integer's digits.
    public var number: String
    /// The UNIX timestamp Udesk sent, if any (integer or numeric string in the JSON).
    public var timestamp: Int64?

    /// Creates a query.
    public init(number: String, timestamp: Int64?) {
        self.number = number
        self.timestamp = timestamp
    }
}
