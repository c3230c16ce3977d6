import CSQLite
import Glibc

/// Read-only access to the whole token store, for `tokenctl export`, `stats`, `verify` and
/// `backup`.
///
/// Unlike ``TokenStoreWriter`` it never creates the file or migrates the schema, so looking at a
/// store cannot change it; unlike ``TokenStoreReader`` it opens a store of any schema version,
/// so `verify` and `stats` can report a version they do not know instead of refusing to start.
/// Each operation reads one consistent snapshot (WAL mode), so it may run while `tokenctl
/// import` writes and the responder serves.
public final class TokenStoreInspector {
    let connection: SQLiteConnection
    /// The store's path.
    public var path: String { connection.path }

    /// Opens the existing store at `path` read-only.
    public init(path: String) throws(StoreError) {
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        sqlite3_busy_timeout(connection.handle, TokenStoreWriter.busyTimeoutMilliseconds)
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
        try StoreSchema.checkReadable(version: try schemaVersion(), path: path)
    }

    /// Reads a fact from the `meta` table.
    func meta(_ key: String) throws(StoreError) -> String? {
        let statement = try connection.prepare("SELECT value FROM meta WHERE key = ?1", persistent: false)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.text(0) : nil
    }
}
