/// The write side of a token store, for `tokenctl`: imports and one-row edits.
public protocol StoreWriter: AnyObject {
    /// Where the store is.
    var location: StoreLocation { get }

    /// Number of rows in the store.
    func count() throws(StoreError) -> Int

    /// Stores `token` (already valid by ``TokenRules``) for canonical key `key` in one
    /// transaction: a minted row becomes an ordinary one, the time changes only with the token.
    func put(key: String, token: String, now: Int64) throws(StoreError) -> PutOutcome

    /// Deletes the row for canonical key `key`; false if there was none.
    func delete(key: String) throws(StoreError) -> Bool

    /// Starts an import: one write transaction that sees all of the rows added to it, until
    /// ``ImportSession/commit(source:)`` or a roll-back.
    func beginImport(options: ImportSessionOptions) throws(StoreError) -> any ImportSession
}

/// What ``StoreWriter/put(key:token:now:)`` did.
public enum PutOutcome: String, Sendable, Equatable {
    /// The number was new to the store.
    case added
    /// The number had another token, or a minted one (now replaced by the given token).
    case updated
    /// The number already had this token (not minted): nothing was written.
    case unchanged
}

/// Engine settings of one import.
public struct ImportSessionOptions: Sendable {
    /// Page cache of the import's connection, in KiB: large enough that a million-row import
    /// does not re-read its own pages, fixed so memory stays flat (see docs/PERFORMANCE.md).
    public var cacheKiB = defaultCacheKiB
    /// 64 MiB: SQLite's 2 MiB default made a million-row import about three times slower.
    public static let defaultCacheKiB = 65_536
    /// The import's time (UNIX seconds): the rows it changes and the last-import record get it.
    public var now: Int64
    /// Creates the defaults, for an import at `now`.
    public init(now: Int64) {
        self.now = now
    }
}

/// One import in progress: rows go in one by one, nothing is visible to readers until commit.
/// The importer (``TokenImporter``) has already normalised every key and checked every token.
public protocol ImportSession: AnyObject {
    /// Rows the store held when the import began.
    var rowsBefore: Int { get }

    /// Stores `token` for `key`, as listed on `line` of the file. A key this import listed
    /// before is not written again; it is reported by ``repeatedKeys()``.
    func add(key: String, token: String, line: Int) throws(StoreError)

    /// The rows whose key an earlier row of this import already listed, in file order.
    func repeatedKeys() throws(StoreError) -> [RepeatedKey]

    /// Deletes every row this import did not list (`--replace`); returns how many.
    func removeUnlisted() throws(StoreError) -> Int

    /// Rows in the store now, and rows this import added or changed (new, another token, or
    /// a minted row made ordinary).
    func tally() throws(StoreError) -> (rows: Int, changed: Int)

    /// Commits, recording the import's time and `source` (the file, `-` for standard input).
    func commit(source: String) throws(StoreError)

    /// Rolls back a refused import or a dry run: the store is left as it was.
    func rollBack() throws(StoreError)

    /// Rolls back after a failure and frees what the failed write took (best effort).
    func abandon()
}

/// A row that repeats the key of an earlier row of the same import.
public struct RepeatedKey: Sendable, Equatable {
    /// The repeating row's line.
    public var line: Int
    /// The line that listed the key first.
    public var earlierLine: Int
    /// True when both rows give the same token (a harmless duplicate), false for a conflict.
    public var sameToken: Bool

    /// Creates a repeat.
    public init(line: Int, earlierLine: Int, sameToken: Bool) {
        self.line = line
        self.earlierLine = earlierLine
        self.sameToken = sameToken
    }
}
