import CSQLite
import Glibc
import TokenCore
import TokenStore

/// Read-only lookups in a SQLite token store, for one thread: the responder's ``StoreReader``.
///
/// Opening is O(1) in the store's size (SQLite reads the header and schema only), so plain-CGI
/// mode can open it on every request. The store is in WAL mode: lookups never wait for a
/// `tokenctl` import, and each lookup starts a fresh read transaction, so a committed change is
/// visible to the next request without a restart. A server under load can instead hold one
/// read transaction across consecutive lookups (`holdSnapshot`) and release it when it goes idle.
///
/// The reader remembers which files it opened (``StoreFiles``) and `holdSnapshot` refuses to
/// start a snapshot once the files at the path are no longer those: the caller must then close
/// every reader of the process and open the store again (see `holdSnapshot`).
public final class SQLiteReader: StoreReader {
    let connection: SQLiteConnection
    /// The database, `-wal` and `-shm` files this reader opened.
    private let files: StoreFiles
    /// Their paths, compared with `files` before each snapshot.
    private let paths: StoreFiles.Paths
    private let lookup: SQLiteStatement
    private let health: SQLiteStatement
    private let minting: Minting?
    private var recorder: MintedTokenRecorder?
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement
    /// When the held read transaction began (caller's clock), or nil when none is held.
    private var snapshotSince: Int64?

    /// Opens the store at `path` read-only and prepares the lookup; with `minting`, unknown
    /// numbers get derived tokens that are recorded through a separate read-write connection.
    public init(path: String, minting: Minting? = nil) throws(StoreError) {
        self.minting = minting
        connection = try SQLiteConnection(path: path, flags: SQLITE_OPEN_READONLY)
        sqlite3_busy_timeout(connection.handle, 200)
        token_sqlite_no_checkpoint_on_close(connection.handle)
        do throws(StoreError) {
            let version = try connection.integer("PRAGMA user_version") ?? 0
            try SQLiteSchema.checkReadable(version: version, path: path)
            // Reading has opened the -wal and -shm files: note which files these are.
            let pages = try connection.integer("PRAGMA page_count") ?? 0
            paths = StoreFiles.Paths(path)
            files = StoreFiles(paths)
            guard !connection.hasMoved, files.database != nil, !files.databaseIsEmpty else {
                throw StoreError(.cannotOpen, "token store \(path) was replaced while it was being opened")
            }
            try connection.execute("PRAGMA cache_size = \(Self.cachePages(storePages: pages))")
            lookup = try connection.prepare("SELECT token FROM tokens WHERE number = ?1")
            health = try connection.prepare("SELECT count(*) FROM (SELECT 1 FROM tokens LIMIT 1)")
            begin = try connection.prepare("BEGIN")
            commit = try connection.prepare("COMMIT")
        } catch {
            throw StoreError(error.kind == .database ? .cannotOpen : error.kind, error.message)
        }
    }

    /// Pages this reader's SQLite cache holds for a store of `storePages` pages: a sixteenth
    /// of the store, within 500 (SQLite's default of 2000 KiB) and 2048 (8 MiB of 4 KiB pages).
    ///
    /// A lookup reads the root, an interior page and a leaf; a sixteenth keeps the interior
    /// pages in the cache, so a lookup reads about one page from the file, where SQLite's default
    /// let the leaves push them out (`docs/PERFORMANCE.md`). Set at open, so a store that grows by
    /// an import while the responder runs keeps the size it had.
    static func cachePages(storePages: Int64) -> Int64 {
        min(max(storePages / 16, 500), 2048)
    }

    /// A derived token for `key`, recorded in the store if possible (see `MintedTokenRecorder`);
    /// nil once minting has added its budget of new rows (the number is then answered as
    /// unknown, and ``MintBudget/reserve()`` has told the caller once).
    public func mintToken(forKey key: String) throws -> String? {
        guard let minting else { throw MintingUnavailable() }
        guard minting.budget.reserve() else { return nil }
        let token = minting.minter.token(forKey: key)
        do throws(StoreError) {
            if recorder == nil { recorder = try MintedTokenRecorder(path: connection.path) }
            let (stored, added) = try recorder!.record(key: key, token: token, now: Int64(time(nil)))
            if !added { minting.budget.giveBack() }
            return stored
        } catch {
            minting.budget.giveBack()
            recorder = nil  // reopen next time: the failure may have been a closed file
            minting.onRecordFailure(error)
            return token
        }
    }

    /// Makes the following lookups share one read transaction, started now or, if the one held
    /// began more than `maxAge` before `now`, renewed; `now` and `maxAge` are in the caller's
    /// units of one clock. Each lookup in autocommit mode takes and drops SQLite's WAL read lock
    /// (file locks and a size check: about a third of the store's per-lookup system calls);
    /// holding a transaction takes them once. While held, later commits are not seen, so a
    /// server holds one only while busy, bounded by `maxAge`, and calls `releaseSnapshot()`
    /// before it waits for work. On failure lookups simply run in autocommit mode.
    ///
    /// Before a new snapshot starts, the files at the store's path are compared with the ones
    /// this reader opened (three `stat`s per snapshot, not per lookup). Returns false, holding
    /// nothing, when they differ or the database file is empty: the reader must not be used
    /// again. Every other reader of the store in this process must be closed too before the
    /// store is opened again, because SQLite shares one `-shm` mapping between all connections
    /// of a process to the same database file.
    public func holdSnapshot(now: Int64, maxAge: Int64) -> Bool {
        if let since = snapshotSince {
            if now - since <= maxAge { return true }
            releaseSnapshot()
        }
        guard StoreFiles(paths).areStill(files) else { return false }
        defer { sqlite3_reset(begin.handle) }
        if (try? begin.step()) != nil { snapshotSince = now }
        return true
    }

    /// Copies minted rows out of the write-ahead log, as `tokenctl` does after its writes (the
    /// reader's housekeeping after a turn of answers):
    /// SQLite's automatic checkpoint cannot finish while other workers hold snapshots, so under
    /// minting load the log would otherwise only grow. Call it after answers have been sent.
    /// With `idle` (no worker is serving) the log file is emptied, waiting up to
    /// ``MintedTokenRecorder/checkpointWaitMilliseconds`` for readers; otherwise, once
    /// ``MintedTokenRecorder/checkpointEveryRows`` rows were minted, a checkpoint that never
    /// waits. Lets go of this reader's own snapshot first. Does nothing if nothing was minted.
    public func finishTurn(idle: Bool) {
        guard let recorder, recorder.rowsSinceCheckpoint > 0,
            idle || recorder.rowsSinceCheckpoint >= MintedTokenRecorder.checkpointEveryRows
        else { return }
        releaseSnapshot()
        recorder.checkpoint(truncate: idle)
    }

    /// Ends the read transaction `holdSnapshot` started, so the next lookup sees every commit.
    public func releaseSnapshot() {
        guard snapshotSince != nil else { return }
        snapshotSince = nil
        defer { sqlite3_reset(commit.handle) }
        if sqlite3_get_autocommit(connection.handle) == 0 { _ = try? commit.step() }
    }

    /// True while a read transaction from `holdSnapshot` is held.
    public var holdsSnapshot: Bool { snapshotSince != nil }

    /// Reads the table through its index (one row at most): throws if the store cannot be read.
    public func checkHealth() throws(StoreError) {
        defer { sqlite3_reset(health.handle) }
        _ = try health.step()
    }

    /// Number of rows in the store (a full count: for metrics scrapes, not per request).
    public func rowCount() throws(StoreError) -> Int {
        Int(try connection.integer("SELECT count(*) FROM tokens") ?? 0)
    }

    /// When the last import committed, from the `meta` table (for metrics scrapes).
    public func lastImportTime() throws(StoreError) -> Int64? {
        try connection.meta("last_import_time").flatMap { Int64($0) }
    }

    /// The token for canonical key `key`, or nil.
    public func token(forKey key: String) throws(StoreError) -> String? {
        defer { sqlite3_reset(lookup.handle) }
        try lookup.bind(key, at: 1)
        return try lookup.step() ? lookup.text(0) : nil
    }
}
