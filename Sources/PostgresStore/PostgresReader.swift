import CLibPQ
import Glibc
import TokenCore
import TokenStore

/// One responder worker's connection to a PostgreSQL store: a prepared lookup, answered or
/// given up within the store timeout, whatever the network does.
///
/// The connection is opened to every host of the URI at once and the first in the list that
/// accepts (and suits `target_session_attrs`) is kept, so a host that never answers costs no
/// time. A connection that breaks during a lookup is replaced and the lookup tried once more
/// within the same deadline (a lookup is safe to repeat). After a failed connect, requests for
/// the next ``retryMicroseconds`` are answered unavailable at once instead of each waiting.
public final class PostgresReader: StoreReader {
    private let backend: PostgresBackend
    private let hosts: [PGHost]
    private let name: String
    private let minting: Minting?
    private var connection: PGConnection?
    /// When the last connect failed (monotonic µs), and why.
    private var lastFailure: (at: Int64, error: StoreError)?

    /// How long a failed connect is remembered before the next attempt.
    static let retryMicroseconds: Int64 = 50_000

    private static let lookupSQL = "SELECT token FROM udesk_tokens WHERE number = $1"
    private static let mintSQL = """
        INSERT INTO udesk_tokens(number, token, minted, updated_at) VALUES($1, $2, true, $3)
        ON CONFLICT (number) DO NOTHING RETURNING token
        """

    init(backend: PostgresBackend, minting: Minting?) throws(StoreError) {
        self.backend = backend
        self.minting = minting
        hosts = try PGHost.list(in: backend.uri)
        name = backend.location.description
    }

    private var timeout: Int64 { backend.settings.storeTimeoutMicroseconds }

    /// Connects (up to `deadline`) and checks the schema; a failure to connect is only noted.
    func checkSchemaIfConnected(deadline: Int64) throws(StoreError) {
        guard let connection = try? connected(deadline: deadline) else { return }
        let version = try PostgresSchema.version { sql throws(StoreError) in
            try connection.execute(sql, deadline: deadline)
        }
        try PostgresSchema.checkReadable(version: version, name: name)
    }

    /// The open connection, or a new one made before `deadline`.
    private func connected(deadline: Int64) throws(StoreError) -> PGConnection {
        if let connection, connection.isOK { return connection }
        connection = nil
        let now = monotonicMicroseconds()
        if let lastFailure, now - lastFailure.at < Self.retryMicroseconds { throw lastFailure.error }
        do throws(StoreError) {
            let made = try PGConnection.connect(
                uri: backend.uri, hosts: hosts, name: name, applicationName: backend.settings.applicationName,
                deadline: deadline)
            // The server gives up too: a statement waiting for a lock (an import holds the table
            // against writers) or running long ends with the client's deadline.
            let milliseconds = max(1, timeout / 1000)
            _ = try made.execute(
                "SET lock_timeout = \(milliseconds); SET statement_timeout = \(2 * milliseconds)", deadline: deadline)
            try made.prepare("lookup", Self.lookupSQL, parameterCount: 1, deadline: deadline)
            connection = made
            lastFailure = nil
            return made
        } catch {
            lastFailure = (monotonicMicroseconds(), error)
            throw error
        }
    }

    /// Runs `body` on a connection, once more on a fresh one if the first broke, all within
    /// one store timeout.
    private func withConnection<T>(_ body: (PGConnection, Int64) throws(StoreError) -> T) throws(StoreError) -> T {
        let deadline = monotonicMicroseconds() + timeout
        var attempt = 0
        while true {
            let connection = try connected(deadline: deadline)
            do throws(StoreError) {
                return try body(connection, deadline)
            } catch {
                // A failed query leaves the connection in doubt: drop it.
                self.connection = nil
                attempt += 1
                if attempt > 1 || monotonicMicroseconds() >= deadline { throw error }
            }
        }
    }

    public func token(forKey key: String) throws(StoreError) -> String? {
        try withConnection { connection, deadline throws(StoreError) in
            let result = try connection.executePrepared("lookup", [key], deadline: deadline)
            return result.rows > 0 ? result.text(0, 0) : nil
        }
    }

    /// A derived token for `key`, recorded with `INSERT … ON CONFLICT DO NOTHING`: the row a
    /// writable host already has (an import's, or another node's mint) wins. When the row
    /// cannot be written (only a standby is reachable), the token is still answered and the
    /// failure reported.
    public func mintToken(forKey key: String) throws -> String? {
        guard let minting else { throw MintingUnavailable() }
        guard minting.budget.reserve() else { return nil }
        let token = minting.minter.token(forKey: key)
        do throws(StoreError) {
            let stored = try withConnection { connection, deadline throws(StoreError) -> String? in
                let inserted = try connection.executePrepared(
                    "mint", [key, token, String(Int64(time(nil)))], deadline: deadline, preparing: Self.mintSQL)
                if inserted.rows > 0 { return nil }
                let existing = try connection.executePrepared("lookup", [key], deadline: deadline)
                return existing.rows > 0 ? existing.text(0, 0) : token
            }
            if let stored {
                minting.budget.giveBack()
                return stored
            }
            return token
        } catch {
            minting.budget.giveBack()
            minting.onRecordFailure(error)
            return token
        }
    }

    /// Nothing to hold: every lookup is its own statement and sees every commit.
    public func holdSnapshot(now: Int64, maxAge: Int64) -> Bool { true }

    public func releaseSnapshot() {}

    public func finishTurn(idle: Bool) {}

    public func checkHealth() throws(StoreError) {
        _ = try withConnection { connection, deadline throws(StoreError) in
            try connection.execute("SELECT 1 FROM udesk_tokens LIMIT 1", deadline: deadline)
        }
    }

    public func rowCount() throws(StoreError) -> Int {
        try withConnection { connection, deadline throws(StoreError) in
            Int(try connection.execute("SELECT count(*) FROM udesk_tokens", deadline: deadline).int64(0, 0))
        }
    }

    public func lastImportTime() throws(StoreError) -> Int64? {
        try withConnection { connection, deadline throws(StoreError) in
            let meta = try connection.execute(
                "SELECT value FROM udesk_token_meta WHERE key = 'last_import_time'", deadline: deadline)
            return meta.rows > 0 ? meta.text(0, 0).flatMap { Int64($0) } : nil
        }
    }
}
