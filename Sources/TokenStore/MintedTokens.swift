import CSQLite

/// Records minted tokens in the store (`minted = 1`, first-seen time), for one thread.
///
/// The write happens before the reply, with SQLite's FULL synchronous mode, so a token Udesk
/// has seen is in the store for `tokenctl export --minted`. If a number was imported meanwhile,
/// the imported token wins and is returned. Writers wait at most `busyTimeoutMilliseconds` for
/// a running import: the reply must stay well inside Udesk's 500 ms, and the token is derived,
/// so a row recorded on a later call is still the same token.
final class MintedTokenRecorder {
    /// Longest wait for another writer before giving up on recording this time.
    static let busyTimeoutMilliseconds: Int32 = 100

    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private let stored: SQLiteStatement

    init(path: String) throws(StoreError) {
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
        sqlite3_busy_timeout(connection.handle, Self.busyTimeoutMilliseconds)
        try connection.execute("PRAGMA synchronous = FULL")
        insert = try connection.prepare(
            """
            INSERT INTO tokens(number, token, minted, updated_at) VALUES(?1, ?2, 1, ?3)
            ON CONFLICT(number) DO NOTHING
            """)
        stored = try connection.prepare("SELECT token FROM tokens WHERE number = ?1")
    }

    /// Records `token` for `key` unless the number already has a row; returns the stored token.
    func record(key: String, token: String, now: Int64) throws(StoreError) -> String {
        defer { insert.reset() }
        try insert.bind(key, at: 1)
        try insert.bind(token, at: 2)
        try insert.bind(now, at: 3)
        _ = try insert.step()
        if connection.changes > 0 { return token }
        defer { stored.reset() }
        try stored.bind(key, at: 1)
        return try stored.step() ? (stored.text(0) ?? token) : token
    }
}
