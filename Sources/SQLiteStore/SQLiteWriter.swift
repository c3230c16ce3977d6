import CSQLite
import Glibc
import TokenStore

/// Read-write access to a SQLite token store, for `tokenctl`.
///
/// Creates the file (mode 0640) and its schema on first use, keeps it in WAL mode so the
/// responder's lookups never wait, and waits up to `busyTimeoutMilliseconds` for another writer
/// instead of failing.
public final class SQLiteWriter: StoreWriter {
    let connection: SQLiteConnection
    /// The store's path.
    public var path: String { connection.path }
    /// Where the store is.
    public var location: StoreLocation { .sqlite(path: path) }

    /// How long a writer waits for another writer before giving up.
    public static let busyTimeoutMilliseconds: Int32 = 30_000
    /// How long `checkpoint()` waits for readers still on an older snapshot.
    public static let checkpointWaitMilliseconds: Int32 = 2_000

    /// True when the store had no schema when opened with `schemaWithFirstWrite`: the schema
    /// is then created inside the first write transaction (see ``beginImport(options:)``).
    public private(set) var needsSchema = false

    /// Opens (creating if needed) the store at `path`. With `schemaWithFirstWrite`, a new
    /// store's schema is not committed on its own but with the first write transaction, so
    /// that readers see either no token store (the responder answers `store_unavailable`) or
    /// the store with all of its first import's rows, never an empty one (every number a 404).
    /// Without `create`, a missing store is an error rather than a new empty one.
    public init(path: String, create: Bool = true, schemaWithFirstWrite: Bool = false) throws(StoreError) {
        if create {
            try Self.createFileIfMissing(path)
        } else if access(path, F_OK) != 0 {
            throw StoreError(.cannotOpen, "cannot open token store \(path): \(String(cString: strerror(errno)))")
        }
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE)
        sqlite3_busy_timeout(connection.handle, Self.busyTimeoutMilliseconds)
        try connection.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
        let isNew = try SQLiteSchema.isNew(connection)
        if schemaWithFirstWrite && isNew {
            needsSchema = true
        } else {
            try SQLiteSchema.migrate(connection)
        }
    }

    /// Creates the schema inside the caller's write transaction if the store is new.
    func createSchemaIfNeeded() throws(StoreError) {
        guard needsSchema else { return }
        try SQLiteSchema.migrateInTransaction(connection)
    }

    /// Marks the schema as committed (after the transaction that created it committed).
    func schemaCommitted() {
        needsSchema = false
    }

    /// Creates an empty file readable by the owner and group only, so SQLite (which copies the
    /// database file's mode to its -wal and -shm files) never makes a world-readable store.
    private static func createFileIfMissing(_ path: String) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        if fd >= 0 {
            close(fd)
        } else if errno != EEXIST {
            throw StoreError(.cannotOpen, "cannot create token store \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The token stored for canonical key `key`, or nil.
    public func token(forKey key: String) throws(StoreError) -> String? {
        let statement = try connection.prepare("SELECT token FROM tokens WHERE number = ?1", persistent: false)
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.text(0) : nil
    }

    /// Number of rows in the store.
    public func count() throws(StoreError) -> Int {
        Int(try connection.integer("SELECT count(*) FROM tokens") ?? 0)
    }

    /// Runs `body` in one IMMEDIATE transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let result = try body()
            try connection.execute("COMMIT")
            checkpoint()
            return result
        } catch {
            rollBackAfterFailure()
            throw error
        }
    }

    /// Rolls back after a failed write and empties the write-ahead log: a write that failed
    /// part way (disk full, I/O error) leaves the frames it wrote in the log, and the file
    /// would otherwise keep that space until the next successful write.
    func rollBackAfterFailure() {
        try? connection.execute("ROLLBACK")
        checkpoint()
    }

    /// Copies the write-ahead log into the database file and empties it, after a commit.
    ///
    /// SQLite's automatic checkpoint runs right after the commit and never waits: while the
    /// responder is busy, some lookup is always still on the snapshot before the commit, so that
    /// checkpoint cannot finish, the log is never restarted, and every import under load made
    /// it longer (`docs/PERFORMANCE.md`). This one waits up to
    /// `checkpointWaitMilliseconds` for readers to move to the new snapshot (the responder's
    /// workers do within 20 ms). Best effort: the commit is already durable, so if a reader
    /// holds on longer the log is simply left for the next write. Returns true if emptied.
    @discardableResult
    public func checkpoint() -> Bool {
        sqlite3_busy_timeout(connection.handle, Self.checkpointWaitMilliseconds)
        defer { sqlite3_busy_timeout(connection.handle, Self.busyTimeoutMilliseconds) }
        return sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil) == SQLITE_OK
    }

    /// Starts an import: an IMMEDIATE transaction (waiting for another writer up to
    /// ``busyTimeoutMilliseconds``), with a new store's schema created inside it.
    public func beginImport(options: ImportSessionOptions) throws(StoreError) -> any ImportSession {
        try SQLiteImportSession(writer: self, options: options)
    }
}
