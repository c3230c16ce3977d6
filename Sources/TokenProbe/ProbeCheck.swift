/// One line of the probe report: a check, its level, and what was found in plain words.
public struct ProbeCheck: Sendable, Equatable {
    /// How the finding bears on Udesk's acceptance of the endpoint.
    public enum Level: String, Sendable, Comparable {
        /// Fine.
        case ok
        /// Works today, but worth fixing; does not change the exit status.
        case warn
        /// Udesk would not accept the endpoint; exit status 1.
        case fail

        /// `OK  `, `WARN`, `FAIL`: four columns, so messages line up.
        public var tag: String {
            switch self {
            case .ok: "OK  "
            case .warn: "WARN"
            case .fail: "FAIL"
            }
        }

        /// Orders ok < warn < fail.
        public static func < (lhs: Level, rhs: Level) -> Bool {
            let order: [Level] = [.ok, .warn, .fail]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    /// The finding's level.
    public var level: Level
    /// Stable name of the check for scripts: `scheme`, `certificate`, `connection`,
    /// `redirect`, `status`, `content_type`, `body`, `token_consistency`, `latency`.
    public var name: String
    /// The encodings of the number this finding is about; empty when it is about the endpoint.
    public var encodings: [NumberEncoding]
    /// What was found, in plain words.
    public var message: String
    /// A few words for the final verdict line (`status 404`, `invalid JSON`).
    public var summary: String

    /// Creates a check.
    public init(
        _ level: Level, _ name: String, _ message: String, summary: String? = nil, encodings: [NumberEncoding] = []
    ) {
        self.level = level
        self.name = name
        self.message = message
        self.summary = summary ?? message
        self.encodings = encodings
    }

    /// The report line: `OK   status 200 (5 of 5; number as a JSON integer and as a string)`.
    public var line: String {
        "\(level.tag) \(message)\(encodingSuffix)"
    }

    private var encodingSuffix: String {
        switch encodings.sorted() {
        case []: ""
        case [.integer]: " [number as a JSON integer]"
        case [.string]: " [number as a JSON string]"
        default: " [number as a JSON integer and as a string]"
        }
    }
}
