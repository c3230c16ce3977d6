import Glibc
import TokenCore

/// Everything `token-responder` needs to run; the executable fills it from flags and the
/// environment, tests build it directly.
public struct ServerConfiguration: Sendable {
    /// Path of the SQLite token store (`--store`, `TOKEN_STORE`).
    public var storePath: String
    /// Unix socket to create and serve FastCGI on (`--socket`, `TOKEN_SOCKET`); nil means fd 0
    /// (spawn-fcgi, systemd socket activation) or plain CGI.
    public var socketPath: String?
    /// Permissions of the created socket (`--socket-mode`, default 0660: nginx reaches it
    /// through the group).
    public var socketMode: mode_t
    /// Worker threads (`--threads`). Idle kept-alive connections do not occupy workers, so a
    /// few per core are enough; workers only wait on SQLite and on writing the answer.
    public var threads: Int
    /// How requests are answered.
    public var handler: HandlerConfiguration
    /// Lowest level written to stderr.
    public var logLevel: LogLevel
    /// Longest a worker waits on a stalled connection (reading a request, writing an answer)
    /// before giving up on it, in seconds.
    public var ioTimeoutSeconds: Int

    /// Default worker count: two per core, at least four.
    public static var defaultThreads: Int {
        max(4, 2 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Creates a configuration with production defaults.
    public init(
        storePath: String, socketPath: String? = nil, socketMode: mode_t = 0o660,
        threads: Int = ServerConfiguration.defaultThreads, handler: HandlerConfiguration = HandlerConfiguration(),
        logLevel: LogLevel = .info, ioTimeoutSeconds: Int = 5
    ) {
        self.storePath = storePath
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.threads = threads
        self.handler = handler
        self.logLevel = logLevel
        self.ioTimeoutSeconds = ioTimeoutSeconds
    }
}
