import CSQLite
import TokenCore

/// Read-only lookups in the token store, for one thread.
///
/// Opening is O(1) in the store's size (SQLite reads the header and schema only), so plain-CGI
/// mode can open it on every request. The store is in WAL mode: lookups never wait for a
/// `tokenctl` import, and each lookup starts a fresh read transaction, so a committed change is
/// visible to the next request without a restart.
public final class TokenStoreReader: TokenLookup {
    private let connection: SQLiteConnection
    private let lookup: SQLiteStatement

    /// Opens the store at `path` read-only and prepares the lookup.
    public init(path: String) throws(StoreError) {
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        sqlite3_busy_timeout(connection.handle, 200)
        do throws(StoreError) {
            let version = try connection.integer("PRAGMA user_version") ?? 0
            try StoreSchema.checkReadable(version: version, path: path)
            lookup = try connection.prepare("SELECT token FROM tokens WHERE number = ?1")
        } catch {
            throw StoreError(error.kind == .sqlite ? .cannotOpen : error.kind, error.message)
        }
    }

    /// The token for canonical key `key`, or nil.
    public func token(forKey key: String) throws(StoreError) -> String? {
        defer { sqlite3_reset(lookup.handle) }
        try lookup.bind(key, at: 1)
        return try lookup.step() ? lookup.text(0) : nil
    }
}
