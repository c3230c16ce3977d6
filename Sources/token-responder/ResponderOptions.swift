import ArgumentParser
import FastCGIServer
import Logging
import TokenCore

/// The responder's flags. Their values go into ``Settings`` rather than ``Settings`` declaring
/// them itself: plain CGI starts a process per request and must not run the argument parser,
/// which even for an empty argument list cost about 2 ms of start-up (`bench/cgi.sh`,
/// docs/PERFORMANCE.md).
struct ResponderOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The token store: a SQLite file made with tokenctl, or a PostgreSQL URI (postgresql://...; every host of a host list is tried at once, see --store-timeout). (env: TOKEN_STORE)"
    )
    var store: String?

    @Option(
        name: .long,
        help:
            "Unix socket to create and serve FastCGI on, or HOST:PORT / [IPV6]:PORT for TCP (then see --allow-from). A stale socket file is replaced; one a running responder serves is taken over atomically (SIGTERM the old one afterwards: no request fails). (env: TOKEN_SOCKET)"
    )
    var socket: String?

    @Option(name: .long, help: "Octal permissions of the created socket. (env: TOKEN_SOCKET_MODE, default: 0660)")
    var socketMode: String?

    @Option(
        name: .long,
        help:
            "Worker threads; idle kept-alive connections do not occupy one. (env: TOKEN_THREADS, default: 2 per core, at least 4)"
    )
    var threads: Int?

    @Option(
        name: .long,
        help:
            "Answer for a valid but unknown number: not-found (404 JSON error), empty (200 with an empty customer_token) or mint (200 with a token derived from the number and recorded in the store; Udesk then creates a customer for it). (env: TOKEN_UNKNOWN, default: not-found)"
    )
    var unknown: HandlerConfiguration.UnknownNumberPolicy?

    @Option(
        name: .long,
        help: "Largest request body accepted, in bytes; larger gets 413. (env: TOKEN_MAX_BODY, default: 4096)")
    var maxBody: Int?

    @Option(
        name: .long, help: "Country calling code of numbers written without one. (env: TOKEN_COUNTRY_CODE, default: 86)"
    )
    var countryCode: Int?

    @Option(
        name: .long,
        help:
            "trace, debug, info (one line per request), notice, warning, error or critical. (env: TOKEN_LOG_LEVEL, default: info)"
    )
    var logLevel: Logger.Level?

    @Option(
        name: .long,
        help:
            "Append log lines to this file instead of stderr, reopened on SIGHUP (for logrotate); start-up errors go there too. Without it, lines go to stderr, each starting with its syslog priority (<6> info, <4> warning, ...) when stderr is systemd's journal (JOURNAL_STREAM). (env: TOKEN_LOG_FILE)"
    )
    var logFile: String?

    @Option(
        name: .long,
        help:
            "File holding a shared secret; requests must then carry it as ?key=SECRET in the URL, else 403. (env: TOKEN_KEY_FILE)"
    )
    var keyFile: String?

    @Option(
        name: .long,
        help:
            "Reject requests whose timestamp is more than this many seconds from the server's clock (403), against replays. (env: TOKEN_MAX_SKEW)"
    )
    var maxSkew: Int64?

    @Option(
        name: .long,
        help:
            "File holding the secret minted tokens are derived from; needed by --unknown mint. (env: TOKEN_MINT_KEY_FILE)"
    )
    var mintKeyFile: String?

    @Option(
        name: .long,
        help:
            "Seconds a request may take to arrive once its first bytes are there; a connection whose request is not whole by then is closed, and until then it holds no worker. Idle kept-alive connections are not affected. (env: TOKEN_REQUEST_TIMEOUT, default: 2)"
    )
    var requestTimeout: Double?

    @Option(
        name: .long,
        help:
            "With --unknown mint: most new rows minting adds per process start; past it, unknown numbers get not-found (logged once). (env: TOKEN_MINT_MAX_ROWS, default: 100000)"
    )
    var mintMaxRows: Int?

    @Option(
        name: .long,
        help:
            "CPU scheduling of the worker threads: batch (SCHED_BATCH: a worker woken by a request does not preempt nginx or whatever else is running, yet gets its fair share of CPU; about 10% more throughput under heavy load on a small machine) or normal (the kernel's default). (env: TOKEN_SCHEDULING, default: batch)"
    )
    var scheduling: ServerConfiguration.Scheduling?

    @Option(
        name: .long,
        help:
            "Longest a request waits for a PostgreSQL store, covering connecting, the query and failing over to another host: milliseconds, or with a unit (250ms, 0.25s); past it the answer is store_unavailable. (env: TOKEN_STORE_TIMEOUT, default: 250ms)"
    )
    var storeTimeout: String?

    @Option(
        name: .long,
        help:
            "A SQLite store (e.g. a tokenctl backup of the PostgreSQL store, refreshed by a timer) answered from when the store cannot answer within --store-timeout; such answers are logged and counted as outcome=fallback, and the health check says degraded. (env: TOKEN_FALLBACK_STORE)"
    )
    var fallbackStore: String?

    @Option(
        name: .long,
        help:
            "With a TCP --socket (or a TCP socket on fd 0): the only peers that may connect, as addresses and CIDR ranges (127.0.0.1,10.0.0.0/24,::1), or any; other connections are closed before a byte is read, and logged at most once a minute per address. Required for an address other than loopback. libfcgi's FCGI_WEB_SERVER_ADDRS is read too. (env: TOKEN_ALLOW_FROM)"
    )
    var allowFrom: String?

    /// The values given, for ``Settings/configuration()``.
    var settings: Settings {
        Settings(
            store: store, socket: socket, socketMode: socketMode, threads: threads, unknown: unknown, maxBody: maxBody,
            countryCode: countryCode, logLevel: logLevel, logFile: logFile, keyFile: keyFile, maxSkew: maxSkew,
            mintKeyFile: mintKeyFile,
            requestTimeout: requestTimeout, mintMaxRows: mintMaxRows, scheduling: scheduling,
            storeTimeout: storeTimeout,
            fallbackStore: fallbackStore, allowFrom: allowFrom
        )
    }
}
