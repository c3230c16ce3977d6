import CFastCGI
import Glibc
import Logging
import TokenCore
import TokenStore

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
    /// nginx's `$request_id` of the request being served (``RequestID``), empty if none.
    var requestID: [UInt8] = []

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
        requestID.reserveCapacity(RequestID.maxLength)
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
                if server.waiterSlot.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
                    .exchanged
                {
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
            if !server.admits(fd) { continue }
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
                server.metrics.refused(.requestTimeout)
                server.refusedConnections.log(
                    "closed a FastCGI connection whose request did not arrive in time (--request-timeout)", to: logger)
                close(fd)
            } else {
                server.pending.park(fd, deadline: deadline, registered: registered)
            }
        case .invalid(let reason):
            server.metrics.refused(.malformed)
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
        RequestID.read(variables.cString("REQUEST_ID"), into: &requestID)
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
        server.metrics.record(response, endpoint: endpoint, microseconds: elapsed)
        ResponderLogging.logRequest(
            logger, response: response, endpoint: endpoint, microseconds: elapsed, requestID: requestID)
    }

    /// Runs `body` with this worker's store reader, opening it first if the store was reopened
    /// (SIGHUP, files changed) or could not be opened before. If the files at the store path
    /// are no longer the ones the reader has open, starts a reopen of every worker's reader and
    /// opens the store again. If the store cannot be opened, answers as the handler does for an
    /// unreadable store (client mistakes still get their own status).
    fileprivate func withReader<Result>(_ body: (inout StoreLookup<Backend.Reader>) -> Result) -> Result {
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
        guard server.readers.waitForOlderReaders(than: generation, timeoutMicroseconds: Self.reopenWaitMicroseconds)
        else {
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

    func figures() -> StoreFigures {
        worker.withReader { lookup in
            guard case .open(let reader) = lookup, let rows = try? reader.rowCount() else { return .unavailable }
            return StoreFigures(available: true, rows: rows, lastImportTime: try? reader.lastImportTime())
        }
    }
}
