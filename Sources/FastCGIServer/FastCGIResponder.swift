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
    /// Writes every log line of the server and its workers, off the request path.
    let logWriter = LogWriter()
    let metrics = ResponderMetrics()
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
    }

    /// Serves until SIGTERM or SIGINT, then returns after in-flight requests have finished.
    /// Opens one store connection per worker first, so a missing or unreadable store is
    /// reported at start-up rather than on the first call.
    public func run() throws(StartupError) {
        defer { logWriter.finish() }
        FCGX_Init()
        ShutdownSignals.blockInCurrentThread()
        let minting: Minting?
        do throws(MintKeyError) {
            minting = try configuration.makeMinting(logger: logger)
        } catch {
            throw .mintKey(error)
        }
        var opened: [Backend.Reader] = []
        for _ in 0..<max(1, configuration.threads) {
            do throws(StoreError) {
                opened.append(try backend.openReader(minting: minting))
            } catch {
                throw .store(error)
            }
            readers.opened(in: 0)
        }
        logger.info(
            "serving FastCGI",
            metadata: [
                "workers": "\(opened.count)", "store": "\(configuration.store)",
                "unknown": "\(configuration.handler.unknownNumbers.rawValue)",
                "key_required": "\(configuration.handler.sharedKey != nil)",
                "scheduling": "\(configuration.scheduling.rawValue)",
            ])
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
                logger.info("received SIGHUP, reopening the store")
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
            configureAccepted(fd)
            if !arm(fd, add: true) { close(fd) }
        }
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

/// One worker thread: its own libfcgi request, store reader and body buffer.
final class Worker<Backend: StoreBackend>: @unchecked Sendable {
    // @unchecked: used by exactly one thread after it is handed over at spawn.
    let server: FastCGIResponder<Backend>
    var reader: Backend.Reader?
    /// The `StoreReaderSet` generation `reader` was opened in.
    var readerGeneration = 0
    /// How unknown numbers get tokens when minting is configured; used when reopening.
    let minting: Minting?
    var request = FCGX_Request()
    var body: [UInt8]
    let bodyLimit: Int
    /// Where the bytes waiting on a connection are peeked at before libfcgi reads them.
    var peekBuffer: [UInt8]
    /// Request lines wait here while requests keep coming; flushed before waiting for work.
    let logBuffer: LineBuffer
    let logger: Logger

    init(server: FastCGIResponder<Backend>, reader: Backend.Reader, minting: Minting?) {
        self.server = server
        self.reader = reader
        self.minting = minting
        self.bodyLimit = server.configuration.handler.maxBodyBytes
        self.logBuffer = LineBuffer(writer: server.logWriter)
        self.logger = ResponderLogging.makeLogger(
            level: server.configuration.logLevel, writer: server.logWriter, buffer: logBuffer)
        self.body = []
        body.reserveCapacity(bodyLimit + 1)
        self.peekBuffer = [UInt8](repeating: 0, count: FastCGIRequestScan.peekCapacity(maxBody: bodyLimit))
        FCGX_InitRequest(&request, -1, 0)
    }

    func run() {
        defer {
            dropReader()
            logBuffer.flush()
        }
        if server.configuration.scheduling == .batch && token_schedule_batch() != 0 {
            logger.warning("could not switch to SCHED_BATCH", metadata: ["cause": "\(ListeningSocket.errorString())"])
        }
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventBatch)
        while true {
            let stopping = server.stopping.load(ordering: .relaxed)
            if reader != nil && readerGeneration != server.readers.current { dropReader() }
            if !server.pending.isEmpty { sweepPending() }
            var ready = epoll_wait(server.epollFD, &events, Int32(events.count), 0)
            if ready == 0 {
                // Out of work: the reader's housekeeping (minted rows out of SQLite's log), let go of the store
                // snapshot, hand the log lines to the writer, then sleep, as the one waiter in
                // epoll_wait or as a spare.
                reader?.finishTurn(idle: server.workersServing.load(ordering: .relaxed) == 0)
                reader?.releaseSnapshot()
                logBuffer.flush()
                if server.waiterSlot.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
                    let timeout = server.pending.isEmpty ? (stopping ? 100 : Self.waiterTimeoutMilliseconds) : 1
                    ready = epoll_wait(server.epollFD, &events, Int32(events.count), timeout)
                    server.waiterSlot.store(false, ordering: .releasing)
                } else {
                    if stopping && server.pending.isEmpty { return }
                    sparePause()
                    continue
                }
            }
            if ready < 0 {
                if errno == EINTR { continue }
                server.logger.critical("epoll_wait failed", metadata: ["cause": "\(ListeningSocket.errorString())"])
                return
            }
            if ready == 0 {
                if stopping && server.pending.isEmpty { return }  // parked requests are in flight too
                continue
            }
            server.workersServing.add(1, ordering: .relaxed)
            for event in events[0..<Int(ready)] { handle(event) }
            server.workersServing.subtract(1, ordering: .relaxed)
            reader?.finishTurn(idle: false)
        }
    }

    /// Longest the waiter sleeps in `epoll_wait` before it looks around: how long a store
    /// reopen can wait for an idle waiter to close its reader.
    static var waiterTimeoutMilliseconds: Int32 { 50 }

    /// Longest a worker waits for the others to close their readers before it opens the store
    /// again; past it the request is answered `store_unavailable`.
    static var reopenWaitMicroseconds: Int64 { 250_000 }

    /// A spare worker's sleep: 1 ms while another worker is serving, so that connections ready
    /// behind a slow request (a minted token waiting for an import's write lock, say) or piling
    /// up in a burst are taken within a millisecond; 20 ms when the responder is idle.
    ///
    /// Spares do not also wait in `epoll_wait`: every event would wake one of them even when a
    /// busy worker takes it microseconds later, a context switch per request
    /// (`docs/PERFORMANCE.md`). With one waiter, a busy worker takes what arrives while it
    /// serves, and the others join in when work piles up.
    private func sparePause() {
        let serving = server.workersServing.load(ordering: .relaxed) > 0 || !server.pending.isEmpty
        var pause = timespec(tv_sec: 0, tv_nsec: serving ? 1_000_000 : 20_000_000)
        nanosleep(&pause, nil)
    }

    /// Ready connections taken per `epoll_wait`. Each is one-shot, so the ones a worker takes
    /// are its own until re-armed; a few per wake-up save a wake-up per request under load and
    /// delay a request by at most a few others' service time (tens of microseconds each).
    static var eventBatch: Int { 4 }

    /// Longest a worker keeps one store snapshot while requests keep coming (microseconds):
    /// the most a committed change can stay unseen under load. When idle, none is held.
    static var snapshotMaxAge: Int64 { 20_000 }

    private func handle(_ event: epoll_event) {
        let fd = event.data.fd
        if fd == server.listenFD {
            acceptConnections()
        } else if event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 && Self.nothingToRead(fd) {
            // nginx closed an idle kept connection (its keepalive cache was full): close
            // ours directly, without libfcgi's reader set-up and lingering shutdown.
            close(fd)
        } else {
            serve(fd, registered: true)
        }
    }

    /// True when no request bytes are waiting on `fd`.
    private static func nothingToRead(_ fd: Int32) -> Bool {
        var pending: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &pending) == 0 && pending == 0
    }

    /// Most connections taken from the listening socket's backlog per turn.
    static var acceptBatch: Int { 256 }

    /// Accepts the connections waiting in the backlog (up to `acceptBatch`), re-arms the
    /// listening socket for the other workers, and serves the first at once if its request has
    /// already arrived (the usual case); the others join the epoll set, ready at once.
    ///
    /// Why not one per turn: a re-armed socket goes to the back of epoll's ready list, so under
    /// load each connection in the backlog, and the request nginx had already written into it,
    /// waited a whole turn of every ready connection per connection ahead of it. At 1024
    /// connections hundreds waited there, and now and then a run had a p99 of 0.3–0.9 s while
    /// requests on kept connections flowed (`docs/PERFORMANCE.md`).
    private func acceptConnections() {
        var first: Int32 = -1
        for _ in 0..<Self.acceptBatch {
            let fd = token_accept_cloexec(server.listenFD)
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE {
                    server.acceptFailures.log(
                        "accept failed; raise LimitNOFILE (ulimit -n)", level: .error,
                        metadata: ["cause": "\(ListeningSocket.errorString())"], to: server.logger)
                    usleep(10_000)
                }
                break
            }
            server.configureAccepted(fd)
            if first < 0 {
                first = fd
            } else if !server.arm(fd, add: true) {
                close(fd)
            }
        }
        if !server.stopping.load(ordering: .relaxed) { server.arm(server.listenFD, add: false) }
        guard first >= 0 else { return }
        var probe = pollfd(fd: first, events: Int16(POLLIN), revents: 0)
        if poll(&probe, 1, 0) > 0 {
            serve(first, registered: false)
        } else if !server.arm(first, add: true) {
            close(first)
        }
    }

    /// Peeks at what is waiting on `fd` and serves it once a whole request is there: an
    /// incomplete one waits in `server.pending` (no worker), a malformed one is closed unread.
    private func serve(_ fd: Int32, registered: Bool, deadline: Int64? = nil) {
        switch peekRequest(fd) {
        case .complete:
            serveWhole(fd, registered: registered)
        case .incomplete:
            let now = monotonicMicroseconds()
            let deadline = deadline ?? now + server.configuration.requestTimeoutMicroseconds
            if now >= deadline {
                server.refusedConnections.log(
                    "closed a FastCGI connection whose request did not arrive in time (--request-timeout)", to: logger)
                close(fd)
            } else {
                server.pending.park(fd, deadline: deadline, registered: registered)
            }
        case .invalid(let reason):
            server.refusedConnections.log(
                "closed a FastCGI connection sending a malformed request", metadata: ["reason": "\(reason)"],
                to: logger)
            close(fd)
        }
    }

    /// The peeked bytes of `fd`, judged; EOF or a broken connection counts as complete, so that
    /// libfcgi sees the end and closes it as before.
    private func peekRequest(_ fd: Int32) -> FastCGIRequestScan {
        let count = peekBuffer.count
        let got = peekBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        if got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .incomplete }
        guard got > 0 else { return .complete }
        return peekBuffer.withUnsafeBytes {
            FastCGIRequestScan.scan(UnsafeRawBufferPointer(rebasing: $0[0..<got]), maxBody: bodyLimit)
        }
    }

    /// Looks at the connections waiting for the rest of their request (at most once a
    /// millisecond across all workers): serves the whole ones, closes the late ones.
    private func sweepPending() {
        let now = monotonicMicroseconds()
        for (fd, entry) in server.pending.takeAll(now: now, interval: 1000) {
            serve(fd, registered: entry.registered, deadline: entry.deadline)
        }
    }

    /// Reads one whole request from `fd`, answers it, and re-arms the connection if it is kept.
    private func serveWhole(_ fd: Int32, registered: Bool) {
        guard token_fcgx_accept_on(&request, fd) >= 0 else { return }  // closed by the peer
        guard token_fcgx_is_responder(&request) != 0 else {
            token_fcgx_refuse_role(&request)
            logger.warning("refused a FastCGI request for a role other than Responder; closed the connection")
            return
        }
        let started = monotonicMicroseconds()
        let variables = FastCGIParameters(envp: request.envp)
        let contentLength = variables.value("CONTENT_LENGTH").flatMap { Int($0) }
        let complete = readBody(declaredLength: contentLength)
        let (endpoint, response) = server.router.answer(
            variables: variables, contentLength: contentLength, body: body, store: WorkerStore(worker: self))
        let bytes = response.cgiBytes()
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                _ = FCGX_PutStr($0.baseAddress, Int32($0.count), request.out)
            }
        }
        // Closed here rather than by libfcgi, whose close lingers until the peer closes its side
        // (2 s per read), holding the worker for as long as a peer that never does.
        let closing =
            !complete || server.stopping.load(ordering: .relaxed) || token_fcgx_keep_conn_requested(&request) == 0
        token_fcgx_keep_open_after_finish(&request)
        FCGX_Finish_r(&request)
        let kept = token_fcgx_kept_fd(&request)  // -1 if libfcgi closed it after a failed write
        if kept >= 0 && (closing || !server.arm(kept, add: !registered)) {
            close(kept)
        }
        let elapsed = monotonicMicroseconds() - started
        if endpoint != .metrics { server.metrics.record(response, microseconds: elapsed) }
        ResponderLogging.logRequest(logger, response: response, endpoint: endpoint, microseconds: elapsed)
    }

    /// Runs `body` with this worker's store reader, opening it first if the store was reopened
    /// (SIGHUP, files changed) or could not be opened before. If the files at the store path
    /// are no longer the ones the reader has open, starts a reopen of every worker's reader and
    /// opens the store again. If the store cannot be opened, answers as the handler does for an
    /// unreadable store (client mistakes still get their own status).
    fileprivate func withReader(_ body: (inout StoreLookup<Backend.Reader>) -> TokenResponse) -> TokenResponse {
        var failure = StoreError(.cannotOpen, "token store \(server.configuration.store) keeps changing")
        for _ in 0..<2 {
            if reader != nil && readerGeneration != server.readers.current { dropReader() }
            if reader == nil {
                do {
                    try openReader()
                } catch {
                    failure = error
                    break
                }
            }
            if reader!.holdSnapshot(now: monotonicMicroseconds(), maxAge: Self.snapshotMaxAge) {
                var lookup = StoreLookup.open(reader!)
                return body(&lookup)
            }
            if server.readers.reopen(after: readerGeneration) {
                server.logger.warning(
                    "token store files changed (replaced, removed or emptied); reopening it",
                    metadata: ["store": "\(server.configuration.store)"])
            }
            dropReader()
        }
        var unavailable = StoreLookup<Backend.Reader>.unavailable(failure)
        return body(&unavailable)
    }

    /// Opens this worker's reader in the current generation, once every reader of an older
    /// generation is closed.
    private func openReader() throws(StoreError) {
        let generation = server.readers.current
        guard server.readers.waitForOlderReaders(than: generation, timeoutMicroseconds: Self.reopenWaitMicroseconds) else {
            throw StoreError(.cannotOpen, "token store is being reopened; other workers still hold the previous files")
        }
        reader = try server.backend.openReader(minting: minting)
        readerGeneration = generation
        server.readers.opened(in: generation)
    }

    /// Closes this worker's reader (and its minting connection), if open.
    private func dropReader() {
        guard reader != nil else { return }
        reader = nil
        server.readers.closed(in: readerGeneration)
    }

    /// Reads the body into `body`, at most `bodyLimit + 1` bytes; true if stdin was read to its
    /// end (so the connection can carry another request).
    private func readBody(declaredLength: Int?) -> Bool {
        body.removeAll(keepingCapacity: true)
        if let declaredLength, declaredLength > bodyLimit { return false }
        let capacity = bodyLimit + 1
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { chunk in
            while body.count < capacity {
                let wanted = Int32(min(chunk.count, capacity - body.count))
                let got = FCGX_GetStr(chunk.baseAddress, wanted, request.in)
                if got <= 0 { return FCGX_GetError(request.in) == 0 }
                body.append(contentsOf: UnsafeRawBufferPointer(start: chunk.baseAddress, count: Int(got)))
            }
            return false
        }
    }
}

/// A worker's store as the router reaches it.
private struct WorkerStore<Backend: StoreBackend>: StoreAccess {
    let worker: Worker<Backend>

    func withLookup(_ body: (inout StoreLookup<Backend.Reader>) -> TokenResponse) -> TokenResponse {
        worker.withReader(body)
    }

    func rowCount() -> Int? {
        try? worker.reader?.rowCount()
    }
}

/// Microseconds on the monotonic clock, for request latency.
func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
