import Glibc
import Logging
import TokenCore
import TokenStore

/// Everything `token-responder` needs to run; the executable fills it from flags and the
/// environment, tests build it directly.
public struct ServerConfiguration: Sendable {
    /// Where the token store is (`--store`, `TOKEN_STORE`); the server opens it through the
    /// ``StoreBackend`` it is given, and names it in log lines.
    public var store: StoreLocation
    /// Where to serve FastCGI (`--socket`, `TOKEN_SOCKET`): a Unix socket to create, or a TCP
    /// address; nil means fd 0 (spawn-fcgi, systemd socket activation) or plain CGI.
    public var socket: ListenAddress?
    /// Peers allowed to connect over TCP (`--allow-from`, `TOKEN_ALLOW_FROM`,
    /// `FCGI_WEB_SERVER_ADDRS`); nil allows every peer (Unix sockets, loopback listeners).
    public var allowList: AllowList?
    /// Permissions of the created socket (`--socket-mode`, default 0660: nginx reaches it
    /// through the group).
    public var socketMode: mode_t
    /// Worker threads (`--threads`). Idle kept-alive connections do not occupy workers, so a
    /// few per core are enough; workers only wait on the store and on writing the answer.
    public var threads: Int
    /// How requests are answered.
    public var handler: HandlerConfiguration
    /// Lowest level written to stderr (`info` logs one line per request).
    public var logLevel: Logger.Level
    /// File holding the secret that minted tokens are derived with (`--mint-key-file`);
    /// required when `handler.unknownNumbers` is `.mint`.
    public var mintKeyFile: String?
    /// Longest a worker waits on a stalled connection (reading a request, writing an answer)
    /// before giving up on it, in seconds.
    public var ioTimeoutSeconds: Int
    /// New rows minting may add per process start (`--mint-max-rows`); past it, unknown numbers
    /// are answered as with `not-found`.
    public var mintMaxRows: Int = MintBudget.defaultMaxNewRows
    /// Longest a request may take to arrive once its first bytes are there (`--request-timeout`),
    /// in microseconds; a connection whose request is not whole by then is closed. Idle kept
    /// connections (no bytes at all) are not affected.
    public var requestTimeoutMicroseconds: Int64 = 2_000_000
    /// The store timeout (`--store-timeout`) and how the responder names itself to a database.
    public var storeSettings: StoreBackendSettings = {
        var settings = StoreBackendSettings()
        settings.applicationName = "token-responder"
        return settings
    }()
    /// A SQLite store answered from when the store cannot answer in time (`--fallback-store`).
    public var fallbackStore: String?
    /// How the kernel schedules the worker threads (`--scheduling`).
    public var scheduling: Scheduling = .batch
    /// The version the executable reports (`--version`): named in the start-up log line, so that
    /// the log shows which build answered (empty leaves it out), and in `token_responder_build_info`.
    public var version: String = ""
    /// The file lines are appended to (`--log-file`, `TOKEN_LOG_FILE`), reopened on SIGHUP;
    /// nil for stderr. Opened by ``ResponderLogging/useLogFile(_:)``.
    public var logFile: String?

    /// Scheduling policy of the worker threads.
    public enum Scheduling: String, CaseIterable, Sendable {
        /// SCHED_BATCH: a worker woken by a request does not preempt the task running on its
        /// CPU (nginx, usually), but gets its fair share of CPU as before.
        case batch
        /// SCHED_OTHER, the kernel's default.
        case normal
    }

    /// Default worker count: two per core, at least four.
    public static var defaultThreads: Int {
        max(4, 2 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Creates a configuration with production defaults.
    public init(
        store: StoreLocation, socket: ListenAddress? = nil, socketMode: mode_t = 0o660,
        threads: Int = ServerConfiguration.defaultThreads, handler: HandlerConfiguration = HandlerConfiguration(),
        logLevel: Logger.Level = .info, ioTimeoutSeconds: Int = 5, mintKeyFile: String? = nil
    ) {
        self.store = store
        self.socket = socket
        self.socketMode = socketMode
        self.threads = threads
        self.handler = handler
        self.logLevel = logLevel
        self.ioTimeoutSeconds = ioTimeoutSeconds
        self.mintKeyFile = mintKeyFile
    }
}

extension ServerConfiguration {
    /// The minting set-up shared by every reader of the process, if minting is configured:
    /// the minter, a budget of ``mintMaxRows`` new rows, and failures reported through `logger`.
    func makeMinting(logger: Logger) throws(StartupError) -> Minting? {
        guard let minter = try makeMinter() else { return nil }
        let budget = MintBudget(maxNewRows: mintMaxRows) { limit in
            logger.warning(
                "minting stopped: \(limit) new rows minted since start (--mint-max-rows); unknown numbers now get not-found until restart"
            )
        }
        return Minting(minter: minter, budget: budget) { error in
            logger.error("minted token not recorded (the reply still carries it)", metadata: ["cause": "\(error)"])
        }
    }

    /// Opens the store through `backend` (and reads the mint key, if minting) once and lets go:
    /// throws what serving would meet at start-up, so that the caller can report it before it
    /// listens.
    public func check<Backend: StoreBackend>(_ backend: Backend) throws(StartupError) {
        _ = try makeMinter()
        try StartupError.store { () throws(StoreError) in try backend.checkReadable() }
    }

    /// The minter, if minting is configured; throws if its key file cannot be read.
    func makeMinter() throws(StartupError) -> TokenMinter? {
        guard handler.unknownNumbers == .mint else { return nil }
        guard let mintKeyFile else {
            throw .mintKey(MintKeyError("--unknown mint needs --mint-key-file (or TOKEN_MINT_KEY_FILE)"))
        }
        let secret: [UInt8]
        do {
            secret = try SecretFile.readBytes(mintKeyFile)
        } catch {
            throw .mintKey(MintKeyError(error.description))
        }
        guard secret.count >= TokenMinter.minimumKeyBytes else {
            throw .mintKey(
                MintKeyError(
                    "mint key file \(mintKeyFile) holds \(secret.count) bytes; use at least \(TokenMinter.minimumKeyBytes) (e.g. head -c 32 /dev/urandom | base64 > FILE)"
                ))
        }
        return TokenMinter(keyBytes: secret)
    }
}

/// The mint key file is missing, unreadable or too short.
public struct MintKeyError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the file.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Why the responder cannot serve: reported at start-up, and the command exits 66.
public enum StartupError: Error, Sendable, CustomStringConvertible {
    /// The store cannot be opened or is not a token store.
    case store(StoreError)
    /// The mint key cannot be used.
    case mintKey(MintKeyError)

    /// The result of `body`, its store error (opening the store) as ``store(_:)``.
    static func store<T>(_ body: () throws(StoreError) -> T) throws(StartupError) -> T {
        do throws(StoreError) {
            return try body()
        } catch {
            throw .store(error)
        }
    }

    /// The message for the log.
    public var description: String {
        switch self {
        case .store(let error): error.message
        case .mintKey(let error): error.description
        }
    }
}
