import CLibPQ
import Glibc
import TokenStore

/// Read-write access to a PostgreSQL token store, for `tokenctl`. Every change is one
/// transaction; imports and edits of several tokenctl processes take turns (an advisory lock),
/// while the responder keeps reading the committed rows.
final class PostgresWriter: StoreWriter {
    let connection: PGConnection
    let location: StoreLocation

    init(uri: String, location: StoreLocation) throws(StoreError) {
        self.location = location
        connection = try PGConnection.connect(uri: uri, name: location.description)
    }

    /// The lock key every writer takes for its transaction (`pg_advisory_xact_lock`).
    static let writerLock = "SELECT pg_advisory_xact_lock(7375206873211)"

    func count() throws(StoreError) -> Int {
        guard try PostgresSchema.version(connection) > 0 else {
            return 0
        }
        return Int(try connection.execute("SELECT count(*) FROM udesk_tokens").int64(0, 0))
    }

    /// Runs `body` in one transaction holding the writers' lock, creating the schema first if
    /// the store has none: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try beginWriting()
        do throws(StoreError) {
            let result = try body()
            try connection.execute("COMMIT")
            return result
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Begins a write transaction: the writers' lock, and the schema created if the store has
    /// none. Rolled back if that fails; the caller commits or rolls back otherwise.
    func beginWriting() throws(StoreError) {
        try connection.execute("BEGIN")
        do throws(StoreError) {
            try connection.execute(Self.writerLock)
            try createSchemaIfNeeded()
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Creates the schema inside the caller's transaction if the store has none; refuses one
    /// newer than this binary.
    private func createSchemaIfNeeded() throws(StoreError) {
        let version = try PostgresSchema.version(connection)
        if version > PostgresSchema.currentVersion {
            try PostgresSchema.checkReadable(version: version, name: location.description)
        }
        if version == 0 { try connection.execute(PostgresSchema.create) }
    }

    func put(key: String, token: String, now: Int64) throws(StoreError) -> PutOutcome {
        if let problem = TokenRules.problem(with: token) {
            throw StoreError(.invalidToken, "\(location): refused to store an invalid token (\(problem))")
        }
        return try transaction { () throws(StoreError) -> PutOutcome in
            let current = try connection.execute(
                "SELECT token, minted FROM udesk_tokens WHERE number = $1 FOR UPDATE", [key])
            guard current.rows > 0 else {
                try connection.execute(
                    "INSERT INTO udesk_tokens(number, token, minted, updated_at) VALUES($1, $2, false, $3)",
                    [key, token, String(now)])
                return .added
            }
            if current.text(0, 0) == token && current.text(0, 1) == "f" { return .unchanged }
            try connection.execute(
                "UPDATE udesk_tokens SET token = $2, minted = false, updated_at = $3 WHERE number = $1",
                [key, token, String(now)])
            return .updated
        }
    }

    func delete(key: String) throws(StoreError) -> Bool {
        try transaction { () throws(StoreError) -> Bool in
            try connection.execute("DELETE FROM udesk_tokens WHERE number = $1", [key]).changed > 0
        }
    }

    func beginImport(options: ImportSessionOptions) throws(StoreError) -> any ImportSession {
        try PostgresImportSession(writer: self, options: options)
    }
}
