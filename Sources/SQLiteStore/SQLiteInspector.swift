import CSQLite
import Glibc
import TokenStore

/// Read-only access to a whole SQLite token store (the ``StoreInspector``), for `tokenctl export`, `stats`, `verify` and
/// `backup`.
///
/// Unlike ``SQLiteWriter`` it never creates the file or migrates the schema, so looking at a
/// store cannot change it; unlike ``SQLiteReader`` it opens a store of any schema version,
/// so `verify` and `stats` can report a version they do not know instead of refusing to start.
/// Each operation reads one consistent snapshot (WAL mode), so it may run while `tokenctl
/// import` writes and the responder serves.
public final class SQLiteInspector: StoreInspector {
    let connection: SQLiteConnection
    /// The store's path.
    public var path: String { connection.path }
    /// Where the store is.
    public var location: StoreLocation { .sqlite(path: path) }
    /// The newest schema version this binary knows.
    public var knownSchemaVersion: Int64 { SQLiteSchema.currentVersion }

    /// Opens the existing store at `path` read-only.
    public init(path: String) throws(StoreError) {
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        sqlite3_busy_timeout(connection.handle, SQLiteWriter.busyTimeoutMilliseconds)
        do throws(StoreError) {
            // Reads the header: fails here, not halfway through a command, on a non-database.
            _ = try schemaVersion()
        } catch {
            throw StoreError(.cannotOpen, error.message)
        }
    }

    /// The schema version recorded in the file (`PRAGMA user_version`); 0 for a file that is not
    /// a token store yet.
    public func schemaVersion() throws(StoreError) -> Int64 {
        try connection.integer("PRAGMA user_version") ?? 0
    }

    /// Throws unless the file is a token store whose schema this binary can read.
    public func requireReadableSchema() throws(StoreError) {
        try SQLiteSchema.checkReadable(version: try schemaVersion(), path: path)
    }

    /// The token for canonical key `key`, or nil.
    public func token(forKey key: String) throws(StoreError) -> String? {
        try requireReadableSchema()
        let statement = try connection.prepare("SELECT token FROM tokens WHERE number = ?1", persistent: false)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.text(0) : nil
    }

    /// Every row (or every minted one) in key order, straight from SQLite's buffers.
    public func forEachRow(mintedOnly: Bool, _ body: (StoredRow) throws -> Void) throws {
        let statement = try connection.prepare(
            mintedOnly
                ? "SELECT number, token, updated_at FROM tokens WHERE minted = 1 ORDER BY number"
                : "SELECT number, token, updated_at FROM tokens ORDER BY number",
            persistent: false)
        defer { statement.reset() }
        while try statement.step() {
            try body(StoredRow(key: statement.bytes(0), token: statement.bytes(1), updatedAt: statement.int64(2)))
        }
    }

    /// Runs `body` in one read transaction.
    public func inSnapshot<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try body()
    }

    /// `PRAGMA integrity_check(limit)`: SQLite's own check of pages, indexes and free lists.
    public func integrityProblems(limit: Int) throws(StoreError) -> [String] {
        let check = try connection.prepare("PRAGMA integrity_check(\(limit))", persistent: false)
        defer { check.reset() }
        var problems: [String] = []
        while try check.step() {
            let message = check.text(0) ?? ""
            if message != "ok" { problems.append(message) }
        }
        return problems
    }
}
