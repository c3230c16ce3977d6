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
            SIGHUP: every worker reopens the store before its next request, and the log file \
            (--log-file) is opened again at its path (logrotate).
            """,
        version: ProductVersion.current)

    /// The options, each with its environment fallback.
    @OptionGroup var options: ResponderOptions

    func validate() throws {
        _ = try options.settings.configuration()
    }

    func run() throws {
        // Before anything can connect: a SIGTERM that arrives while starting up is handled as a
        // shutdown by the signal thread (threads inherit the mask), not as the default kill.
        ShutdownSignals.blockInCurrentThread()
        let configuration = try options.settings.configuration()
        try configuration.store.withBackend(
            configuration.storeSettings, fallback: configuration.fallbackStore,
            FastCGIService(configuration: configuration))
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
        if case .tcp(let host, let port) = configuration.socket {
            do {
                let opened = try ListeningSocket.openTCP(host: host, port: port)
                if !opened.loopback && configuration.allowList == nil {
                    close(opened.fd)
                    throw ValidationError(
                        "--socket \(configuration.socket!) is reachable from other machines and FastCGI has no authentication: give --allow-from ADDR[,ADDR...] (the nginx hosts), or --allow-from any to allow every peer"
                    )
                }
                listenFD = opened.fd
            } catch let error as ListeningSocket.Failure {
                throw ValidationError(error.description)
            }
        } else if case .unix(let path) = configuration.socket {
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
            if AllowList.localAddressIsLoopback(of: 0) == false && configuration.allowList == nil {
                throw ValidationError(
                    "the TCP socket on fd 0 is reachable from other machines and FastCGI has no authentication: give --allow-from ADDR[,ADDR...] (the nginx hosts), or --allow-from any to allow every peer"
                )
            }
            listenFD = 0
        } else {
            throw ValidationError(
                "no --socket given and fd 0 is not a listening socket. Use --socket PATH or --socket HOST:PORT, start it from spawn-fcgi or systemd socket activation, or run it as a CGI program (the web server then sets GATEWAY_INTERFACE)."
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
            Glibc.exit(
                (try? configuration.store.withBackend(
                    configuration.storeSettings, fallback: configuration.fallbackStore,
                    CGIService(configuration: configuration))) ?? 1)
        }
        let command: TokenResponderCommand
        do {
            command = try parse()
        } catch {
            exit(loggingError: error)
        }
        do {
            try command.run()
        } catch {
            exit(loggingError: error)
        }
    }

    /// Exits as the argument parser does for `error`; with a log file in use, its message goes
    /// there too: under spawn-fcgi's fork mode stderr is /dev/null, and the file is where an
    /// operator looks for why the responder did not start.
    static func exit(loggingError error: Error) -> Never {
        if exitCode(for: error) != .success && !(error is ExitCode) && ResponderLogging.output.path != nil {
            ResponderLogging.makeLogger(level: .error).critical("\(message(for: error))")
        }
        exit(withError: error)
    }
}
