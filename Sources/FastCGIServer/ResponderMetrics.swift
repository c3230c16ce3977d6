import Glibc
import Prometheus
import Synchronization
import TokenCore

/// What a scrape reports about the server itself, read when it is rendered.
struct ServerStatus: Sendable {
    /// Worker threads (`--threads`).
    var workers: Int
    /// Workers serving requests now, the one answering the scrape included (PHP-FPM's
    /// "active processes" counts its status request the same way).
    var busy: Int
    /// Connections in the listening socket's backlog, which no worker has taken yet (PHP-FPM's
    /// "listen queue"); nil when the kernel does not say.
    var waiting: Int?
    /// Log lines dropped since start because the log was not taking them.
    var droppedLogLines: Int
}

/// What a scrape reports about the store, read by the worker answering it.
struct StoreFigures: Sendable {
    /// True when the store answered.
    var available: Bool
    /// Rows in the store.
    var rows: Int?
    /// When the last `tokenctl import` committed (UNIX seconds); nil if none ever did.
    var lastImportTime: Int64?

    /// A store that could not be read.
    static let unavailable = StoreFigures(available: false)
}

/// Why a connection was closed before it was served, for
/// `token_responder_connections_refused_total{reason=…}`.
enum RefusalReason: String, CaseIterable, Sendable {
    /// A TCP peer the allow-list (`--allow-from`) does not name.
    case allowList = "allow_list"
    /// The request had not arrived whole `--request-timeout` after its first bytes.
    case requestTimeout = "request_timeout"
    /// The bytes were not a well-formed FastCGI request.
    case malformed
}

/// The Prometheus series of the metrics location (restricted to localhost in nginx/): what
/// PHP-FPM's status page gives, in Prometheus terms. Udesk's queries by status and outcome and
/// their latency; health checks and scrapes counted apart, so that they never count as lookups;
/// build version and start time; workers busy and idle and connections waiting for one;
/// connections refused; dropped log lines; the store's availability, rows, last import and age.
///
/// On the request path only atomics are touched (swift-prometheus' counters and histogram
/// buckets); the gauges are set when a scrape renders them.
final class ResponderMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let latency: DurationHistogram
    /// Counters already made, by `status|outcome`; few distinct values, made on first use.
    private let counters = Mutex<[String: Counter]>([:])
    private let healthChecks = Mutex<[Int: Counter]>([:])
    private let scrapes: Counter
    private let refused: [RefusalReason: Counter]
    private let droppedLogLines: Counter
    /// Dropped lines already added to `droppedLogLines`.
    private let droppedReported = Mutex(0)
    private let workersBusy: Gauge
    private let workersIdle: Gauge
    private let storeUp: Gauge
    private let rows: Gauge
    /// Gauges made at the first scrape that has a value for them: a series that is absent
    /// says "unknown" (no import ever, a socket the kernel gives no backlog for), where 0 would lie.
    private let lateGauges = Mutex<[String: Gauge]>([:])
    /// Reads the server's side of a scrape; set once the server exists (nil in tests).
    private let serverStatus = Mutex<(@Sendable () -> ServerStatus)?>(nil)

    /// Series names, shared with the shipped dashboard and alert rules (a test checks that
    /// every name they use is one of these).
    static let namespace = "token_responder"

    /// Creates the series; `version` goes in `token_responder_build_info`, and the start time is now.
    init(version: String = "unknown") {
        latency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: Self.namespace, metricName: "request_duration", unitName: "seconds",
                helpText:
                    "Time from reading a Udesk query to writing its answer (health checks and scrapes not included)."),
            buckets: [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1),
            ])
        scrapes = registry.makeCounter(
            descriptor: Self.descriptor("metrics_scrapes", "total", help: "Metrics scrapes answered."))
        let refusedDescriptor = Self.descriptor(
            "connections_refused", "total",
            help:
                "FastCGI connections closed unserved: a peer the allow-list does not name, a request not whole in time (--request-timeout), a malformed request."
        )
        var refused: [RefusalReason: Counter] = [:]
        for reason in RefusalReason.allCases {
            refused[reason] = registry.makeCounter(descriptor: refusedDescriptor, labels: [("reason", reason.rawValue)])
        }
        self.refused = refused
        droppedLogLines = registry.makeCounter(
            descriptor: Self.descriptor(
                "log_lines_dropped", "total", help: "Log lines dropped because the log was not taking them."))
        workersBusy = registry.makeGauge(
            descriptor: Self.descriptor(
                "workers_busy", help: "Workers serving requests, the one answering this scrape included."))
        workersIdle = registry.makeGauge(
            descriptor: Self.descriptor("workers_idle", help: "Workers waiting for a request."))
        storeUp = registry.makeGauge(
            descriptor: Self.descriptor(
                "up", subsystem: "store",
                help: "1 when the token store answered this scrape, 0 when it could not be read."
            ))
        rows = registry.makeGauge(
            descriptor: Self.descriptor("rows", subsystem: "store", help: "Rows in the token store at the last scrape.")
        )
        registry.makeGauge(
            descriptor: Self.descriptor("build_info", help: "Always 1; the version is in its label."),
            labels: [("version", version)]
        ).set(Int64(1))
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        registry.makeGauge(
            descriptor: Self.descriptor(
                "start_time", "seconds", help: "When the responder started, in UNIX seconds.")
        ).set(Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
    }

    private static func descriptor(
        _ name: String, _ unit: String = "", subsystem: String? = nil, help: String
    ) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: namespace, subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }

    /// Sets the gauge `descriptor` names, making it first if this is its first value.
    private func setLate(_ descriptor: MetricNameDescriptor, _ value: Int64) {
        Self.made("\(descriptor.subsystem ?? "")_\(descriptor.metricName)", in: lateGauges) {
            registry.makeGauge(descriptor: descriptor)
        }.set(value)
    }

    /// The series cached under `key`, made by `make` the first time (under the cache's lock,
    /// so that two threads never register the same series twice).
    private static func made<Key: Hashable & Sendable, Series: Sendable>(
        _ key: Key, in cache: borrowing Mutex<[Key: Series]>, _ make: () -> Series
    ) -> Series {
        cache.withLock { cache in
            if let existing = cache[key] { return existing }
            let series = make()
            cache[key] = series
            return series
        }
    }

    private static var requestsDescriptor: MetricNameDescriptor {
        descriptor("requests", "total", help: "Answered Udesk queries by HTTP status and outcome.")
    }

    /// Tells the scrapes how to read the server's state.
    func readServerStatus(with read: @escaping @Sendable () -> ServerStatus) {
        serverStatus.withLock { $0 = read }
    }

    /// Counts one answered request: a Udesk query by status and outcome and in the latency
    /// histogram; a health check by status; a scrape.
    func record(_ response: TokenResponse, endpoint: Endpoint = .token, microseconds: Int64) {
        switch endpoint {
        case .token:
            let outcome = response.outcomeName
            let key = "\(response.status)|\(outcome)"
            Self.made(key, in: counters) {
                registry.makeCounter(
                    descriptor: Self.requestsDescriptor,
                    labels: [("status", String(response.status)), ("outcome", outcome)])
            }.increment()
            latency.recordNanoseconds(microseconds * 1000)
        case .health:
            let status = response.status
            Self.made(status, in: healthChecks) {
                registry.makeCounter(
                    descriptor: Self.descriptor(
                        "health_checks", "total", help: "Health checks answered, by HTTP status."),
                    labels: [("status", String(status))])
            }.increment()
        case .metrics:
            scrapes.increment()
        }
    }

    /// Counts a connection closed before it was served.
    func refused(_ reason: RefusalReason) {
        refused[reason]!.increment()
    }

    /// The exposition text, with the gauges set from `store` and the server's status.
    func render(store: StoreFigures, now: Int64 = Int64(time(nil))) -> TokenResponse {
        storeUp.set(Int64(store.available ? 1 : 0))
        if let rowCount = store.rows { rows.set(Int64(rowCount)) }
        if let last = store.lastImportTime {
            setLate(
                Self.descriptor(
                    "last_import_timestamp", "seconds", subsystem: "store",
                    help: "When the last tokenctl import committed, in UNIX seconds (absent until one has)."),
                last)
            setLate(
                Self.descriptor(
                    "age", "seconds", subsystem: "store",
                    help: "Seconds since the last tokenctl import committed (absent until one has)."),
                max(0, now - last))
        }
        if let status = serverStatus.withLock({ $0 })?() {
            workersBusy.set(Int64(status.busy))
            workersIdle.set(Int64(max(0, status.workers - status.busy)))
            if let waiting = status.waiting {
                setLate(
                    Self.descriptor(
                        "connections_waiting",
                        help:
                            "Connections in the listening socket's backlog, not yet taken by a worker (PHP-FPM's listen queue)."
                    ), Int64(waiting))
            }
            droppedReported.withLock { reported in
                if status.droppedLogLines > reported {
                    droppedLogLines.increment(by: Int64(status.droppedLogLines - reported))
                    reported = status.droppedLogLines
                }
            }
        }
        let body = registry.emitToBuffer()
        var response = TokenResponse(status: 200, body: body, outcome: .found)
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }
}
