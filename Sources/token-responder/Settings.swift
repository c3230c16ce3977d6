import ArgumentParser
import CommandSupport
import FastCGIServer
import Glibc
import Logging
import TokenCore
import TokenStore

/// The responder's options, merged with their environment fallbacks into a
/// `ServerConfiguration`. A flag wins over its environment variable; an invalid value from
/// either is a usage error. Plain CGI parses no arguments and takes everything from the
/// environment.
struct Settings: ParsableArguments {
    @Option(name: .long, help: "The token store: a SQLite file made with tokenctl. (env: TOKEN_STORE)")
    var store: String?

    @Option(
        name: .long,
        help:
            "Unix socket to create and serve FastCGI on. A stale socket file is replaced; one a running responder serves is taken over atomically (SIGTERM the old one afterwards: no request fails). (env: TOKEN_SOCKET)"
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

    func configuration() throws(ValidationError) -> ServerConfiguration {
        typealias Fallback = EnvironmentFallback
        var handler = HandlerConfiguration()
        if let value = try Fallback.value(
            maxBody, "TOKEN_MAX_BODY", option: "--max-body", rule: "a byte count from 1 to 1048576",
            isValid: { $0 > 0 && $0 <= 1 << 20 })
        {
            handler.maxBodyBytes = value
        }
        if let policy = try Fallback.value(unknown, "TOKEN_UNKNOWN", option: "--unknown") {
            handler.unknownNumbers = policy
        }
        handler.normaliser = try PhoneNumberNormaliser.fromCommandLine(countryCode: countryCode)
        var configuration = ServerConfiguration(store: try StoreLocation.fromCommandLine(store), handler: handler)
        configuration.socketPath = socket ?? Fallback.variable("TOKEN_SOCKET")
        if let text = try Fallback.value(
            socketMode, "TOKEN_SOCKET_MODE", option: "--socket-mode", rule: "octal like 0660",
            isValid: { mode_t($0, radix: 8).map { $0 <= 0o777 } ?? false })
        {
            configuration.socketMode = mode_t(text, radix: 8)!
        }
        if let value = try Fallback.value(
            threads, "TOKEN_THREADS", option: "--threads", rule: "from 1 to 1024", isValid: { (1...1024).contains($0) })
        {
            configuration.threads = value
        }
        if let level = try Fallback.value(logLevel, "TOKEN_LOG_LEVEL", option: "--log-level") {
            configuration.logLevel = level
        }
        if let path = keyFile ?? Fallback.variable("TOKEN_KEY_FILE") {
            do {
                configuration.handler.sharedKey = SharedKey(try SecretFile.read(path))
            } catch {
                throw ValidationError(error.description)
            }
            if SecretFile.isWorldReadable(path) {
                ResponderLogging.makeLogger(level: .warning).warning(
                    "key file \(path) is readable by every user; chmod 0640 it")
            }
        }
        configuration.handler.maxSkewSeconds = try Fallback.value(
            maxSkew, "TOKEN_MAX_SKEW", option: "--max-skew", rule: "a number of seconds above 0", isValid: { $0 > 0 })
        if let policy = try Fallback.value(scheduling, "TOKEN_SCHEDULING", option: "--scheduling") {
            configuration.scheduling = policy
        }
        configuration.mintKeyFile = mintKeyFile ?? Fallback.variable("TOKEN_MINT_KEY_FILE")
        if configuration.handler.unknownNumbers == .mint && configuration.mintKeyFile == nil {
            throw ValidationError("--unknown mint needs --mint-key-file PATH (or TOKEN_MINT_KEY_FILE)")
        }
        if let path = configuration.mintKeyFile, configuration.handler.unknownNumbers == .mint,
            SecretFile.isWorldReadable(path)
        {
            ResponderLogging.makeLogger(level: .warning).warning(
                "mint key file \(path) is readable by every user, who could then predict minted tokens; chmod 0640 it")
        }
        if let seconds = try Fallback.value(
            requestTimeout, "TOKEN_REQUEST_TIMEOUT", option: "--request-timeout",
            rule: "seconds above 0 and at most 60 (e.g. 2 or 0.5)", isValid: { $0.isFinite && $0 > 0 && $0 <= 60 })
        {
            configuration.requestTimeoutMicroseconds = Int64(seconds * 1_000_000)
        }
        if let value = try Fallback.value(
            mintMaxRows, "TOKEN_MINT_MAX_ROWS", option: "--mint-max-rows", rule: "a row count of 0 or more",
            isValid: { $0 >= 0 })
        {
            configuration.mintMaxRows = value
        }
        return configuration
    }
}

// The enumerated options parse as their raw values, with the choices listed in --help.
extension HandlerConfiguration.UnknownNumberPolicy: ExpressibleByArgument {}
extension ServerConfiguration.Scheduling: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {
    /// Any case: `WARNING` as well as `warning`.
    public init?(argument: String) {
        self.init(rawValue: argument.lowercased())
    }
}
