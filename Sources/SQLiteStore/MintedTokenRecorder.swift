import CSQLite
import Synchronization
import TokenStore

/// Records minted tokens in the store (`minted = 1`, first-seen time), for one thread.
///
/// The write happens before the reply, with SQLite's FULL synchronous mode, so a token Udesk
/// has seen is in the store for `tokenctl export --minted`. If a number was imported meanwhile,
/// the imported token wins and is returned. Writers wait at most `busyTimeoutMilliseconds` for
/// a running import: the reply must stay well inside Udesk's 500 ms, and the token is derived,
/// so a row recorded on a later call is still the same token.
public final class MintedTokenRecorder {
    /// Longest wait for another writer before giving up on recording this time.
    static let busyTimeoutMilliseconds: Int32 = 100
    /// Longest a checkpoint after minting waits for readers still on an older snapshot (the
    /// responder's workers renew theirs within 20 ms).
    public static let checkpointWaitMilliseconds: Int32 = 50
    /// Minted rows after which a busy worker copies the log into the database even though
    /// requests keep coming (a passive checkpoint, which never waits).
    public static let checkpointEveryRows = 64
    /// Size the log is cut back to when a writer starts it over after a complete checkpoint.
    static let logSizeLimitBytes = 4 << 20

    /// Rows recorded since the log was last emptied.
    private(set) var rowsSinceCheckpoint = 0

    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private let stored: SQLiteStatement

    init(path: String) throws(StoreError) {
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
        sqlite3_busy_timeout(connection.handle, Self.busyTimeoutMilliseconds)
        token_sqlite_no_checkpoint_on_close(connection.handle)
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA journal_size_limit = \(Self.logSizeLimitBytes)")
        insert = try connection.prepare(
            """
            INSERT INTO tokens(number, token, minted, updated_at) VALUES(?1, ?2, 1, ?3)
            ON CONFLICT(number) DO NOTHING
            """)
        stored = try connection.prepare("SELECT token FROM tokens WHERE number = ?1")
    }

    /// Records `token` for `key` unless the number already has a row; returns the stored token
    /// and whether a row was added.
    func record(key: String, token: String, now: Int64) throws(StoreError) -> (token: String, added: Bool) {
        defer { insert.reset() }
        try insert.bind(key, at: 1)
        try insert.bind(token, at: 2)
        try insert.bind(now, at: 3)
        _ = try insert.step()
        if connection.changes > 0 {
            rowsSinceCheckpoint += 1
            return (token, true)
        }
        defer { stored.reset() }
        try stored.bind(key, at: 1)
        return (try stored.step() ? (stored.text(0) ?? token) : token, false)
    }

    /// Copies the log into the database file. `truncate`: and empties the file, waiting up to
    /// ``checkpointWaitMilliseconds`` for readers, during which other writers wait too (so only
    /// when the responder is idle); otherwise a passive checkpoint that never waits, after
    /// which the next writer starts the log over (cut back to ``logSizeLimitBytes``). Best
    /// effort, like `SQLiteWriter.checkpoint`: the rows are already durable, and what is
    /// left in the log is copied next time.
    func checkpoint(truncate: Bool) {
        guard truncate else {
            if sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil) == SQLITE_OK {
                rowsSinceCheckpoint = 0
            }
            return
        }
        sqlite3_busy_timeout(connection.handle, Self.checkpointWaitMilliseconds)
        defer { sqlite3_busy_timeout(connection.handle, Self.busyTimeoutMilliseconds) }
        if sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil) == SQLITE_OK {
            rowsSinceCheckpoint = 0
        }
    }
}
