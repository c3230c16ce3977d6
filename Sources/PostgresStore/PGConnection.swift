import CLibPQ
import Glibc
import TokenCore
import TokenStore

/// One libpq connection, for one thread. Two ways to use it: blocking (tokenctl, which may wait
/// for a long import) and with a deadline (the responder, which must answer within
/// `--store-timeout` whatever the network does: every wait is a `poll` bounded by the deadline,
/// and a connection that misses it is dropped rather than waited for).
final class PGConnection {
    let handle: OpaquePointer
    /// The store as messages name it (password masked).
    let name: String

    private init(handle: OpaquePointer, name: String) {
        self.handle = handle
        self.name = name
    }

    deinit {
        token_PQfinish(handle)
    }

    /// Loads libpq on first use (it is not linked: see `CLibPQ/shim.h`).
    static func loadLibrary() throws(StoreError) {
        if let error = token_pq_load() {
            throw StoreError(
                .cannotOpen, "PostgreSQL stores need libpq (Debian: apt-get install libpq5): \(String(cString: error))")
        }
    }

    /// Keywords given before the URI: the URI's own settings override them.
    private static let defaults: [(String, String)] = [("connect_timeout", "10"), ("application_name", "tokenctl")]

    /// Connects, blocking (tokenctl): libpq's own failover over the URI's hosts, and its
    /// `connect_timeout` (10 s unless the URI says otherwise).
    static func connect(uri: String, name: String, applicationName: String = "tokenctl") throws(StoreError)
        -> PGConnection
    {
        try loadLibrary()
        let handle = withParameters(uri: uri, extra: [("application_name", applicationName)]) {
            token_PQconnectdbParams($0, $1, 1)
        }
        guard let handle else { throw StoreError(.cannotOpen, "cannot connect to token store \(name): out of memory") }
        let connection = PGConnection(handle: handle, name: name)
        guard token_PQstatus(handle) == CONNECTION_OK else {
            throw StoreError(.cannotOpen, "cannot connect to token store \(name): \(connection.lastError)")
        }
        return connection
    }

    /// Connects to the URI's hosts at once, one attempt per host, and keeps the first that
    /// succeeds in the URI's order (a later host's success waits `preferEarlierMicroseconds`
    /// for earlier hosts still trying), all before `deadline` (monotonic microseconds). libpq
    /// alone would try the hosts one after the other, and a host that never answers would use
    /// the whole deadline: here it costs nothing. `target_session_attrs` applies to each host.
    static func connect(
        uri: String, hosts: [PGHost], name: String, applicationName: String, deadline: Int64,
        preferEarlierMicroseconds: Int64 = 30_000
    ) throws(StoreError) -> PGConnection {
        try loadLibrary()
        var attempts: [OpaquePointer?] = []
        var failures: [String] = []
        defer { for case let attempt? in attempts { token_PQfinish(attempt) } }
        for host in hosts.isEmpty ? [nil] : hosts.map(Optional.some) {
            var extra = [("application_name", applicationName)]
            if let host {
                extra += [("host", host.host), ("port", host.port)] + (host.hostaddr.map { [("hostaddr", $0)] } ?? [])
            }
            let attempt = withParameters(uri: uri, extra: extra) { token_PQconnectStartParams($0, $1, 1) }
            if let attempt, token_PQstatus(attempt) != CONNECTION_BAD {
                attempts.append(attempt)
            } else {
                failures.append(attempt.map { String(cString: token_PQerrorMessage($0)) } ?? "out of memory")
                if let attempt { token_PQfinish(attempt) }
                attempts.append(nil)
            }
        }
        var writing = [Bool](repeating: true, count: attempts.count)
        var firstSuccessAt: Int64?
        var succeeded = [Bool](repeating: false, count: attempts.count)
        while true {
            // Advance every live attempt as far as it goes without waiting.
            for index in attempts.indices {
                guard let attempt = attempts[index], !succeeded[index] else { continue }
                switch token_PQconnectPoll(attempt) {
                case PGRES_POLLING_OK:
                    succeeded[index] = true
                    if firstSuccessAt == nil { firstSuccessAt = monotonicMicroseconds() }
                case PGRES_POLLING_FAILED:
                    failures.append(String(cString: token_PQerrorMessage(attempt)).trimmingASCIIWhitespace())
                    token_PQfinish(attempt)
                    attempts[index] = nil
                case PGRES_POLLING_WRITING: writing[index] = true
                default: writing[index] = false
                }
            }
            // The earliest host that succeeded, once every earlier one has failed (or waited long enough).
            if let winner = succeeded.firstIndex(of: true) {
                let earlierPending = attempts[..<winner].contains { $0 != nil }
                if !earlierPending || monotonicMicroseconds() - (firstSuccessAt ?? 0) >= preferEarlierMicroseconds {
                    let handle = attempts[winner]!
                    attempts[winner] = nil
                    return PGConnection(handle: handle, name: name)
                }
            }
            if !attempts.contains(where: { $0 != nil }) {
                let reasons = failures.isEmpty ? "no host answered" : failures.joined(separator: "; ")
                throw StoreError(.cannotOpen, "cannot connect to token store \(name): \(reasons)")
            }
            let now = monotonicMicroseconds()
            guard now < deadline else {
                throw StoreError(.cannotOpen, "cannot connect to token store \(name) within the store timeout")
            }
            var fds: [pollfd] = []
            for index in attempts.indices {
                guard let attempt = attempts[index], !succeeded[index] else { continue }
                let socket = token_PQsocket(attempt)
                if socket >= 0 {
                    fds.append(pollfd(fd: socket, events: Int16(writing[index] ? POLLOUT : POLLIN), revents: 0))
                }
            }
            var waitMicroseconds = deadline - now
            if let firstSuccessAt {
                waitMicroseconds = min(waitMicroseconds, firstSuccessAt + preferEarlierMicroseconds - now)
            }
            _ = poll(&fds, nfds_t(fds.count), Int32(clamping: max(1, (waitMicroseconds + 999) / 1000)))
        }
    }

    /// Calls `body` with libpq keyword and value arrays: the defaults, `dbname` = `uri` (expanded
    /// by libpq), then `extra`, which override what the URI says.
    private static func withParameters<T>(
        uri: String, extra: [(String, String)],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> T
    ) -> T {
        let pairs = defaults.filter { key, _ in !extra.contains { $0.0 == key } } + [("dbname", uri)] + extra
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keyPointers = keys.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        return keyPointers.withUnsafeBufferPointer { k in
            valuePointers.withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) }
        }
    }

    /// libpq's last error on this connection, one line.
    var lastError: String { String(cString: token_PQerrorMessage(handle)).trimmingASCIIWhitespace() }

    /// True while the connection is usable.
    var isOK: Bool { token_PQstatus(handle) == CONNECTION_OK }

    // MARK: Blocking use (tokenctl)

    /// Runs `sql` with text `parameters`; returns the result, or throws with the server's message.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> PGResult {
        // Without parameters, several statements may go in one string (the schema).
        if parameters.isEmpty { return try PGResult(checking: token_PQexec(handle, sql), on: self) }
        let result = withCStrings(parameters) { values in
            token_PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try PGResult(checking: result, on: self)
    }

    // MARK: Use with a deadline (the responder)

    /// Prepares `sql` as `statement`, waiting at most until `deadline`.
    func prepare(_ statement: String, _ sql: String, parameterCount: Int32, deadline: Int64) throws(StoreError) {
        guard token_PQsendPrepare(handle, statement, sql, parameterCount, nil) == 1 else { throw failure("prepare") }
        _ = try awaitResult(deadline: deadline)
        prepared.insert(statement)
    }

    /// Runs prepared `statement` with text `parameters`, waiting at most until `deadline`.
    func executePrepared(_ statement: String, _ parameters: [String], deadline: Int64) throws(StoreError) -> PGResult {
        let sent = withCStrings(parameters) { values in
            token_PQsendQueryPrepared(handle, statement, Int32(parameters.count), values, nil, nil, 0)
        }
        guard sent == 1 else { throw failure("query") }
        return try awaitResult(deadline: deadline)
    }

    /// Statements prepared on this connection.
    private var prepared: Set<String> = []

    /// ``executePrepared(_:_:deadline:)``, preparing `statement` from `sql` first if it is not yet.
    func executePrepared(_ statement: String, _ parameters: [String], deadline: Int64, preparing sql: String)
        throws(StoreError) -> PGResult
    {
        if !prepared.contains(statement) {
            try prepare(statement, sql, parameterCount: Int32(parameters.count), deadline: deadline)
        }
        return try executePrepared(statement, parameters, deadline: deadline)
    }

    /// Runs `sql` (no parameters), waiting at most until `deadline`.
    func execute(_ sql: String, deadline: Int64) throws(StoreError) -> PGResult {
        guard token_PQsendQuery(handle, sql) == 1 else { throw failure("query") }
        return try awaitResult(deadline: deadline)
    }

    /// Reads the results of the query just sent; the last one is returned (checked). A missed
    /// deadline throws ``PGTimeout`` wrapped as a store error, and the caller drops the connection.
    private func awaitResult(deadline: Int64) throws(StoreError) -> PGResult {
        while token_PQflush(handle) == 1 {
            try wait(forWrite: true, deadline: deadline)
        }
        var last: OpaquePointer?
        while true {
            while token_PQisBusy(handle) == 1 {
                try wait(forWrite: false, deadline: deadline)
                guard token_PQconsumeInput(handle) == 1 else {
                    if let last { token_PQclear(last) }
                    throw failure("read")
                }
            }
            guard let next = token_PQgetResult(handle) else { break }
            if let last { token_PQclear(last) }
            last = next
        }
        return try PGResult(checking: last, on: self)
    }

    private func wait(forWrite: Bool, deadline: Int64) throws(StoreError) {
        let left = deadline - monotonicMicroseconds()
        guard left > 0, token_pq_wait(handle, forWrite ? 1 : 0, Int32(clamping: (left + 999) / 1000)) > 0 else {
            throw StoreError(.database, "token store \(name) did not answer within the store timeout")
        }
    }

    private func failure(_ step: String) -> StoreError {
        StoreError(.database, "\(name): \(step) failed: \(lastError)")
    }

    private func withCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let copies = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// A query's result, freed with the value.
final class PGResult {
    let handle: OpaquePointer

    /// Takes `result`; throws (and frees it) unless it is a success.
    init(checking result: OpaquePointer?, on connection: PGConnection) throws(StoreError) {
        guard let result else { throw StoreError(.database, "\(connection.name): \(connection.lastError)") }
        let status = token_PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN else {
            let message = String(cString: token_PQresultErrorMessage(result)).trimmingASCIIWhitespace()
            token_PQclear(result)
            throw StoreError(.database, "\(connection.name): \(message)")
        }
        handle = result
    }

    deinit {
        token_PQclear(handle)
    }

    /// Rows returned.
    var rows: Int { Int(token_PQntuples(handle)) }

    /// Rows a command changed (`INSERT`, `UPDATE`, `DELETE`).
    var changed: Int { Int(String(cString: token_PQcmdTuples(handle))) ?? 0 }

    /// Field `column` of `row` as text; nil for NULL.
    func text(_ row: Int, _ column: Int) -> String? {
        guard token_PQgetisnull(handle, Int32(row), Int32(column)) == 0 else { return nil }
        return String(cString: token_PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// Field `column` of `row` as bytes borrowed from the result.
    func bytes(_ row: Int, _ column: Int) -> UnsafeBufferPointer<UInt8> {
        let count = Int(token_PQgetlength(handle, Int32(row), Int32(column)))
        return token_PQgetvalue(handle, Int32(row), Int32(column)).withMemoryRebound(to: UInt8.self, capacity: count) {
            UnsafeBufferPointer(start: $0, count: count)
        }
    }

    /// Field `column` of `row` as an integer (0 for NULL or text that is not one).
    func int64(_ row: Int, _ column: Int) -> Int64 {
        text(row, column).flatMap { Int64($0) } ?? 0
    }
}

/// One host of a URI's host list.
struct PGHost: Sendable, Equatable {
    var host: String
    var port: String
    var hostaddr: String?

    /// The hosts the URI lists (`host=a,b` with their ports), as libpq reads them; empty when it
    /// lists one host or none (then libpq's own connection is used as it is).
    static func list(in uri: String) throws(StoreError) -> [PGHost] {
        try PGConnection.loadLibrary()
        var error: UnsafeMutablePointer<CChar>?
        guard let options = token_PQconninfoParse(uri, &error) else {
            let reason = error.map { String(cString: $0).trimmingASCIIWhitespace() } ?? "not a connection URI"
            token_PQfreemem(error)
            throw StoreError(.cannotOpen, "invalid PostgreSQL URI: \(reason)")
        }
        defer { token_PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        let hosts = (values["host"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard hosts.count > 1 else { return [] }
        let ports = (values["port"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let addresses = values["hostaddr"].map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return hosts.indices.map { index in
            PGHost(
                host: hosts[index], port: ports.count == hosts.count ? ports[index] : (ports.first ?? ""),
                hostaddr: addresses.flatMap { $0.count == hosts.count ? $0[index] : nil })
        }
    }
}
