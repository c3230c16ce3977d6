import ArgumentParser
import CommandSupport
import FastCGIServer
import Glibc
import Logging
import StoreBackends
import TokenCore
import TokenStore

/// `token-responder`: answers Udesk's customer_token query over FastCGI or plain CGI.
@main
struct TokenResponderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token-responder",
        abstract: "Answer Udesk's customer_token query (FastCGI behind nginx, or plain CGI).",
        discussion: """
            Udesk POSTs {"timestamp": 1501124998, "number": 18888888888} at the start of each call; \
            the answer is {"customer_token": "..."} from the token store (see tokenctl).

            Three ways to run, chosen automatically:
              --socket PATH    create a Unix socket and serve FastCGI on it
              fd 0 a socket    serve FastCGI on it (spawn-fcgi, systemd socket units)
              CGI variables    (GATEWAY_INTERFACE set, fd 0 not a socket) plain CGI:
                               one request from the environment and
                               stdin, then exit; configuration from the environment

            Every option has an environment fallback (shown below), so CGI hosting needs no arguments: \
            set TOKEN_STORE (Apache: SetEnv TOKEN_STORE /srv/udesk/tokens.db).

            SIGTERM or SIGINT: requests in flight finish, then it exits 0.
            The store's files are watched: when the files at the store path are replaced, \
            removed or emptied, every worker reopens the store before its next snapshot.
            SIGHUP: every worker reopens the store before its next request.
            """,
        version: ProductVersion.current)

    @Option(name: .long, help: "The token store: a SQLite file made with tokenctl. (env: TOKEN_STORE)")
    var store: String?

    @Option(name: .long, help: "Unix socket to create and serve FastCGI on. A stale socket file is replaced; one a running responder serves is taken over atomically (SIGTERM the old one afterwards: no request fails). (env: TOKEN_SOCKET)")
    var socket: String?

    @Option(name: .long, help: "Octal permissions of the created socket. (env: TOKEN_SOCKET_MODE, default: 0660)")
    var socketMode: String?

    @Option(name: .long, help: "Worker threads; idle kept-alive connections do not occupy one. (env: TOKEN_THREADS, default: 2 per core, at least 4)")
    var threads: Int?

    @Option(name: .long, help: "Answer for a valid but unknown number: not-found (404 JSON error), empty (200 with an empty customer_token) or mint (200 with a token derived from the number and recorded in the store; Udesk then creates a customer for it). (env: TOKEN_UNKNOWN, default: not-found)")
    var unknown: HandlerConfiguration.UnknownNumberPolicy?

    @Option(name: .long, help: "Largest request body accepted, in bytes; larger gets 413. (env: TOKEN_MAX_BODY, default: 4096)")
    var maxBody: Int?

    @Option(name: .long, help: "Country calling code of numbers written without one. (env: TOKEN_COUNTRY_CODE, default: 86)")
    var countryCode: Int?

    @Option(name: .long, help: "trace, debug, info (one line per request), notice, warning, error or critical. (env: TOKEN_LOG_LEVEL, default: info)")
    var logLevel: Logger.Level?

    @Option(name: .long, help: "File holding a shared secret; requests must then carry it as ?key=SECRET in the URL, else 403. (env: TOKEN_KEY_FILE)")
    var keyFile: String?

    @Option(name: .long, help: "Reject requests whose timestamp is more than this many seconds from the server's clock (403), against replays. (env: TOKEN_MAX_SKEW)")
    var maxSkew: Int64?

    @Option(name: .long, help: "File holding the secret minted tokens are derived from; needed by --unknown mint. (env: TOKEN_MINT_KEY_FILE)")
    var mintKeyFile: String?

    @Option(name: .long, help: "Seconds a request may take to arrive once its first bytes are there; a connection whose request is not whole by then is closed, and until then it holds no worker. Idle kept-alive connections are not affected. (env: TOKEN_REQUEST_TIMEOUT, default: 2)")
    var requestTimeout: Double?

    @Option(name: .long, help: "With --unknown mint: most new rows minting adds per process start; past it, unknown numbers get not-found (logged once). (env: TOKEN_MINT_MAX_ROWS, default: 100000)")
    var mintMaxRows: Int?

    @Option(name: .long, help: "CPU scheduling of the worker threads: batch (SCHED_BATCH: a worker woken by a request does not preempt nginx or whatever else is running, yet gets its fair share of CPU; about 10% more throughput under heavy load on a small machine) or normal (the kernel's default). (env: TOKEN_SCHEDULING, default: batch)")
    var scheduling: ServerConfiguration.Scheduling?

    /// Flags merged with their environment fallbacks.
    var settings: Settings {
        Settings(
            store: store, socket: socket, socketMode: socketMode, threads: threads, unknown: unknown,
            maxBody: maxBody, countryCode: countryCode, logLevel: logLevel, keyFile: keyFile, maxSkew: maxSkew,
            mintKeyFile: mintKeyFile, scheduling: scheduling, mintMaxRows: mintMaxRows,
            requestTimeout: requestTimeout)
    }

    func validate() throws {
        _ = try settings.configuration()
    }

    func run() throws {
        // Before anything can connect: a SIGTERM that arrives while starting up is handled as a
        // shutdown by the signal thread (threads inherit the mask), not as the default kill.
        ShutdownSignals.blockInCurrentThread()
        let configuration = try settings.configuration()
        try configuration.store.withBackend(FastCGIService(configuration: configuration))
    }

    /// Serves FastCGI from the store's engine, with its type known so that the workers'
    /// per-request store calls are specialised for it.
    struct FastCGIService: StoreBackendUser {
        let configuration: ServerConfiguration

        func use<Backend: StoreBackend>(_ backend: Backend) throws {
            try TokenResponderCommand.serve(configuration, from: backend)
        }
    }

    /// Plain CGI: answers one request from the store's engine.
    struct CGIService: StoreBackendUser {
        let configuration: ServerConfiguration

        func use<Backend: StoreBackend>(_ backend: Backend) -> Int32 {
            CGIResponder.run(configuration: configuration, backend: backend)
        }
    }

    /// Checks the store, opens the socket and serves from `backend` until SIGTERM.
    static func serve<Backend: StoreBackend>(_ configuration: ServerConfiguration, from backend: Backend) throws {
        do {
            // Before listening: nothing should be able to connect to a responder about to exit.
            try configuration.check(backend)
        } catch {
            ResponderLogging.makeLogger(level: .error).critical("\(error)")
            throw ExitCode(66)
        }
        let listenFD: Int32
        var bound: ListeningSocket.Bound?
        if let path = configuration.socketPath {
            do {
                bound = try ListeningSocket.open(path: path, mode: configuration.socketMode)
                listenFD = bound!.fd
            } catch {
                throw ValidationError(error.description)
            }
            if bound!.tookOver {
                ResponderLogging.makeLogger(level: .info).info(
                    "took over \(path) from the responder serving it; it keeps its connections until it stops")
            }
        } else if ListeningSocket.isListeningSocket(0) {
            listenFD = 0
        } else {
            throw ValidationError(
                "no --socket given and fd 0 is not a listening socket. Use --socket PATH, start it from spawn-fcgi or systemd socket activation, or run it as a CGI program (the web server then sets GATEWAY_INTERFACE)."
            )
        }
        let server: FastCGIResponder<Backend>
        do {
            server = try FastCGIResponder(
                configuration: configuration, backend: backend, listenFD: listenFD, ownedSocket: bound)
        } catch {
            ResponderLogging.makeLogger(level: .error).critical("\(error)")
            throw ExitCode(71)
        }
        do {
            try server.run()
        } catch {
            if let bound, bound.isStillAtPath { unlink(bound.path) }
            ResponderLogging.makeLogger(level: .error).critical("\(error)")
            throw ExitCode(66)
        }
    }

    /// Entry point: CGI invocations skip argument parsing entirely (a web server may pass a
    /// query string as arguments, and CGI configuration comes from the environment).
    static func main() {
        if CGIResponder.isCGIInvocation {
            let configuration: ServerConfiguration
            do {
                configuration = try Settings().configuration()
            } catch {
                ResponderLogging.makeLogger(level: .error).critical("\(error)")
                CGIResponder.answerMisconfigured(cause: "\(error)")
                Glibc.exit(0)
            }
            Glibc.exit((try? configuration.store.withBackend(CGIService(configuration: configuration))) ?? 1)
        }
        let command = parseOrExit()
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
