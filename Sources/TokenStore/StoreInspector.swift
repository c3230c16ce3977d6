/// Read-only access to a whole token store, for `tokenctl get`, `export`, `stats`, `verify`
/// and `backup`. Opening it never creates or migrates anything, and it opens a store of any
/// schema version, so `verify` and `stats` can report a version they do not know.
public protocol StoreInspector: AnyObject {
    /// Where the store is.
    var location: StoreLocation { get }

    /// The schema version recorded in the store; 0 for one that is not a token store yet.
    func schemaVersion() throws(StoreError) -> Int64

    /// The newest schema version this binary knows.
    var knownSchemaVersion: Int64 { get }

    /// Throws unless the store is a token store whose schema this binary can read.
    func requireReadableSchema() throws(StoreError)

    /// The token for canonical key `key`, or nil.
    func token(forKey key: String) throws(StoreError) -> String?

    /// Row counts, sizes and the last import, from one snapshot.
    func statistics() throws(StoreError) -> StoreStatistics

    /// Calls `body` for every row in key order (bytewise), all from one snapshot: an import
    /// committing meanwhile is wholly in it or not at all. With `mintedOnly`, only the rows the
    /// responder minted. The row's bytes are valid only during the call.
    func forEachRow(mintedOnly: Bool, _ body: (StoredRow) throws -> Void) throws

    /// Runs `body` (which may call ``forEachRow(mintedOnly:_:)`` and the checks) in one snapshot.
    func inSnapshot<T>(_ body: () throws -> T) throws -> T

    /// The engine's own consistency check: one message per problem, at most `limit`; empty
    /// when the store is sound. Throws if it cannot run at all.
    func integrityProblems(limit: Int) throws(StoreError) -> [String]

    /// Writes a consistent single-file copy of the store to `destination` (never half written;
    /// an existing file only with `overwrite`); returns its size in bytes.
    func backup(to destination: String, overwrite: Bool) throws -> Int64
}

/// One stored row, as the store holds it: bytes borrowed from the store for one call.
public struct StoredRow {
    /// The canonical key (`+8613800138000`), UTF-8.
    public var key: UnsafeBufferPointer<UInt8>
    /// The token, as stored (checked by ``TokenRules`` when it was written).
    public var token: UnsafeBufferPointer<UInt8>
    /// When the row's token last changed (for a minted row: when it was minted), UNIX seconds.
    public var updatedAt: Int64

    /// Creates a row view.
    public init(key: UnsafeBufferPointer<UInt8>, token: UnsafeBufferPointer<UInt8>, updatedAt: Int64) {
        self.key = key
        self.token = token
        self.updatedAt = updatedAt
    }

    /// The key as a string.
    public var keyString: String { String(decoding: key, as: UTF8.self) }
}
