import CFastCGI
import Glibc
import Logging
import Synchronization
import TokenCore
import TokenStore

/// Serves FastCGI on a listening socket with a fixed pool of worker threads, without ever
/// parking a worker on an idle kept-alive connection.
///
/// nginx with `fastcgi_keep_conn on` keeps upstream connections open between requests. Plain
/// threaded libfcgi (`FCGX_Accept_r` in a loop) pins one thread to each such connection while it
/// is idle, so once nginx holds more connections than there are threads, new requests wait in
/// the backlog behind idle ones: multi-hundred-millisecond stalls. Here, every connection that is
/// not being served sits in one epoll set (the listening socket too), registered one-shot, so
/// any worker can take any ready connection and each is taken by exactly one. A worker takes a
/// few ready connections at a time, reads and answers each request through libfcgi
/// (`token_fcgx_accept_on`), re-arms the connection if nginx keeps it, and looks for more
/// without sleeping. When work runs out, one worker sleeps in `epoll_wait` and the others pause
/// as spares that look again every millisecond while anyone is serving (see `sparePause`), so
/// a busy worker is not raced by woken ones, and a request never waits long behind a slow one.
/// Any number of idle connections cost no thread.
///
/// Workers run under SCHED_BATCH by default (`ServerConfiguration.Scheduling`): a worker woken
/// by a request does not preempt the task running on its CPU (nginx, which carries every
/// request in and out, or the client), but still gets its fair share of CPU: fewer idle CPUs
/// under load, more throughput (`docs/PERFORMANCE.md`, "SCHED_BATCH").
///
/// Each worker holds its own ``StoreReader`` from `Backend`. Before each snapshot the reader
/// checks that the store is still the one it opened; when it is not (for SQLite: a backup moved
/// over the store, `-wal`/`-shm` removed, the store deleted) all workers close their readers and
/// reopen the store (`StoreReaderSet`). SIGHUP forces the same reopen.
///
/// Shutdown (SIGTERM or SIGINT): the socket file is removed so new connections fail fast, the
/// listening socket leaves the epoll set, requests in flight finish, connections are closed
/// after their current request, and `run()` returns once no request has come for 100 ms.
public final class FastCGIResponder<Backend: StoreBackend>: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init except the atomics.
    let configuration: ServerConfiguration
    /// Opens the workers' store readers.
    let backend: Backend
    /// Routes and answers each request (no sockets).
    let router: RequestRouter
    let logger: Logger
    /// Where the lines go (stderr or the log file), reopened on SIGHUP.
    let logOutput = ResponderLogging.output
    /// Writes every log line of the server and its workers, off the request path.
    let logWriter: LogWriter
    let metrics: ResponderMetrics
    let listenFD: Int32
    let epollFD: Int32
    /// The socket this process created (`--socket`), removed on shutdown while still at its path.
    let ownedSocket: ListeningSocket.Bound?
    let stopping = Atomic<Bool>(false)
    /// The workers' store readers, reopened together after SIGHUP or a change of the files.
    let readers = StoreReaderSet()
    /// Taken by the one worker that sleeps in `epoll_wait`; the others pause as spares.
    let waiterSlot = Atomic<Bool>(false)
    /// Workers handling requests right now.
    let workersServing = Atomic<Int>(0)
    /// Connections whose request has not fully arrived; they wait without a worker.
    let pending = PendingConnections()
    /// Rate limit of the "accept failed" error (descriptors exhausted): one line per 10 s.
    let acceptFailures = RateLimitedWarning(intervalMicroseconds: 10_000_000)
    /// Rate limit of the warnings about malformed or late requests: whatever can reach the
    /// socket must not be able to flood the log either.
    let refusedConnections = RateLimitedWarning(intervalMicroseconds: 5_000_000)

    /// Takes ownership of `listenFD` (already listening); serves from the store `backend`
    /// opens. Throws if epoll cannot be set up.
    public init(
        configuration: ServerConfiguration, backend: Backend, listenFD: Int32, ownedSocket: ListeningSocket.Bound?
    ) throws(ListeningSocket.Failure) {
        self.configuration = configuration
        self.backend = backend
        self.logWriter = LogWriter(output: logOutput)
        self.metrics = ResponderMetrics(version: configuration.version)
        self.router = RequestRouter(handler: TokenHandler(configuration: configuration.handler), metrics: metrics)
        self.logger = ResponderLogging.makeLogger(level: configuration.logLevel, writer: logWriter)
        self.listenFD = listenFD
        self.ownedSocket = ownedSocket
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)
        _ = fcntl(listenFD, F_SETFD, FD_CLOEXEC)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .init(description: "epoll_create1: \(ListeningSocket.errorString())") }
        guard arm(listenFD, add: true) else {
            throw .init(description: "epoll_ctl on the listening socket: \(ListeningSocket.errorString())")
        }
        let workers = max(1, configuration.threads)
        metrics.readServerStatus { [unowned self] in
            let backlog = token_listen_backlog(self.listenFD)
            return ServerStatus(
                workers: workers, busy: workersServing.load(ordering: .relaxed),
                waiting: backlog >= 0 ? Int(backlog) : nil,
                droppedLogLines: logWriter.droppedLines)
        }
    }

    /// Serves until SIGTERM or SIGINT, then returns after in-flight requests have finished.
    /// Opens one store connection per worker first, so a missing or unreadable store is
    /// reported at start-up rather than on the first call.
    public func run() throws(StartupError) {
        defer { logWriter.finish() }
        FCGX_Init()
        ShutdownSignals.blockInCurrentThread()
        let minting = try configuration.makeMinting(logger: logger)
        var opened: [Backend.Reader] = []
        for _ in 0..<max(1, configuration.threads) {
            opened.append(try StartupError.store { () throws(StoreError) in try backend.openReader(minting: minting) })
            readers.opened(in: 0)
        }
        var started: Logger.Metadata = [
            "workers": "\(opened.count)", "store": "\(configuration.store)",
            "unknown": "\(configuration.handler.unknownNumbers.rawValue)",
            "key_required": "\(configuration.handler.sharedKey != nil)",
            "scheduling": "\(configuration.scheduling.rawValue)",
        ]
        if !configuration.version.isEmpty { started["version"] = "\(configuration.version)" }
        logger.info("serving FastCGI", metadata: started)
        var threads: [pthread_t] = []
        // Each reader is handed over to its worker and not kept here: a reopen must be able to
        // close every connection to the old files.
        while let reader = opened.popLast() {
            let worker = Worker(server: self, reader: reader, minting: minting)
            threads.append(spawnThread { worker.run() })
        }
        let signals = spawnThread { [self] in
            let signal = ShutdownSignals.waitForStop {
                readers.reopen()
                // The log file too (logrotate): only this thread waits for the open; workers
                // keep handing lines to the writer, whose descriptor now is the new file.
                if let failure = logOutput.reopen() {
                    logger.error("received SIGHUP; \(failure), still writing to the previous file")
                    logger.info("received SIGHUP, reopening the store")
                } else if let path = logOutput.path {
                    logger.info(
                        "received SIGHUP, reopening the store and the log file", metadata: ["log_file": "\(path)"])
                } else {
                    logger.info("received SIGHUP, reopening the store")
                }
            }
            logger.info("received \(ShutdownSignals.name(signal)), finishing requests in flight")
            beginShutdown()
        }
        for thread in threads { pthread_join(thread, nil) }
        ShutdownSignals.wakeSignalThread(signals)
        pthread_join(signals, nil)
        close(listenFD)
        close(epollFD)
        logger.info("stopped")
    }

    /// Stops taking new connections; workers drain and exit. The socket file is removed only
    /// while it is still this process's socket: after a successor took the path over, it is
    /// the successor's. Connections already waiting in the backlog are accepted and served
    /// rather than reset when the listening socket closes.
    func beginShutdown() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let ownedSocket, ownedSocket.isStillAtPath { unlink(ownedSocket.path) }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
        while true {
            let fd = token_accept_cloexec(listenFD)
            guard fd >= 0 else { break }
            if !admits(fd) { continue }
            configureAccepted(fd)
            if !arm(fd, add: true) { close(fd) }
        }
    }

    /// When each refused peer address was last logged (monotonic µs): once a minute per address.
    let refusedPeers = Mutex<[String: Int64]>([:])

    /// True when the accepted connection `fd` may be served; a TCP peer the allow-list does not
    /// name is closed before a byte is read (and logged at most once a minute per address).
    func admits(_ fd: Int32) -> Bool {
        guard let allowList = configuration.allowList, !allowList.allowsEveryone,
            let peer = AllowList.peer(of: fd), !allowList.allows(peer.bytes)
        else { return true }
        close(fd)
        metrics.refused(.allowList)
        let now = monotonicMicroseconds()
        let log = refusedPeers.withLock { seen -> Bool in
            if let last = seen[peer.text], now - last < 60_000_000 { return false }
            if seen.count >= 1024 { seen = seen.filter { now - $0.value < 60_000_000 } }
            seen[peer.text] = now
            return true
        }
        if log {
            logger.warning(
                "refused a FastCGI connection from an address the allow-list does not name (--allow-from)",
                metadata: ["peer": "\(peer.text)"])
        }
        return false
    }

    /// Sets the timeouts of an accepted connection: a stalled peer cannot hold a worker longer.
    func configureAccepted(_ fd: Int32) {
        var timeout = timeval(tv_sec: configuration.ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Registers (or re-arms) `fd` for one readiness event.
    @discardableResult
    func arm(_ fd: Int32, add: Bool) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue
        event.data.fd = fd
        return epoll_ctl(epollFD, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0
    }
}
