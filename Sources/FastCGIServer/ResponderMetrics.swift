import Prometheus
import Synchronization
import TokenCore

/// Request counts by status and outcome, a latency histogram and the store's row count, in
/// Prometheus text format for the metrics location (restricted to localhost in nginx/).
final class ResponderMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let latency: DurationHistogram
    private let rows: Gauge
    /// Counters already made, by `status|outcome`; few distinct values, made on first use.
    private let counters = Mutex<[String: Counter]>([:])

    init() {
        latency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "token_responder", metricName: "request_duration", unitName: "seconds",
                helpText: "Time from reading a request to writing its answer."),
            buckets: [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1),
            ])
        rows = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "token_responder", subsystem: "store", metricName: "rows", unitName: "",
                helpText: "Rows in the token store at the last scrape."))
    }

    private static var requestsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "token_responder", metricName: "requests", unitName: "total",
            helpText: "Answered requests by HTTP status and outcome.")
    }

    /// Counts one answered request.
    func record(_ response: TokenResponse, microseconds: Int64) {
        let outcome = response.outcomeName
        let key = "\(response.status)|\(outcome)"
        let counter = counters.withLock { counters in
            if let existing = counters[key] { return existing }
            let made = registry.makeCounter(
                descriptor: Self.requestsDescriptor,
                labels: [("status", String(response.status)), ("outcome", outcome)])
            counters[key] = made
            return made
        }
        counter.increment()
        latency.recordNanoseconds(microseconds * 1000)
    }

    /// The exposition text, with the row count refreshed from `rowCount`.
    func render(rowCount: Int?) -> TokenResponse {
        if let rowCount { rows.set(Int64(rowCount)) }
        var response = TokenResponse(status: 200, body: registry.emitToBuffer(), outcome: .found)
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }
}
