/// Answer times over the answered requests, against Udesk's budget.
public struct LatencySummary: Sendable, Equatable {
    /// How many answers were timed.
    public var count: Int
    /// Median, in microseconds (nearest-rank).
    public var p50: Int64
    /// 99th percentile, in microseconds (nearest-rank: the maximum below 100 answers).
    public var p99: Int64
    /// Slowest answer, in microseconds.
    public var max: Int64
    /// The first answer, which paid for DNS, connect and the TLS handshake.
    public var first: Int64
    /// Answers slower than the budget.
    public var overBudget: Int
    /// The budget, in microseconds.
    public var budget: Int64

    /// Summarises `times` (microseconds, in request order); nil when there are none.
    public init?(times: [Int64], budgetMilliseconds: Int) {
        guard let first = times.first else { return nil }
        let sorted = times.sorted()
        let budget = Int64(budgetMilliseconds) * 1000
        count = times.count
        p50 = Self.percentile(sorted, 50)
        p99 = Self.percentile(sorted, 99)
        max = sorted[sorted.count - 1]
        self.first = first
        overBudget = times.filter { $0 > budget }.count
        self.budget = budget
    }

    /// Nearest-rank percentile of sorted values: the smallest value with at least `percent`%
    /// of the values at or below it.
    public static func percentile(_ sorted: [Int64], _ percent: Int) -> Int64 {
        precondition(!sorted.isEmpty && (1...100).contains(percent))
        let rank = (sorted.count * percent + 99) / 100
        return sorted[Swift.max(rank, 1) - 1]
    }

    /// `612 ms`, `3.4 ms`, `0.8 ms`: whole milliseconds from 10 ms up, tenths below.
    public static func milliseconds(_ microseconds: Int64) -> String {
        if microseconds >= 9_950 { return "\((microseconds + 500) / 1000) ms" }
        let tenths = (microseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10) ms"
    }
}
