/// Facts about a token store, as `tokenctl stats` shows them.
public struct StoreStatistics: Sendable, Equatable {
    /// Rows in the `tokens` table.
    public var rows = 0
    /// Rows the responder minted itself (`minted = 1`).
    public var mintedRows = 0
    /// Size of the database in bytes (for SQLite, the database file).
    public var databaseBytes: Int64 = 0
    /// Size of its write-ahead log (SQLite's `-wal` file) in bytes; 0 if there is none.
    public var walBytes: Int64 = 0
    /// The schema version recorded in the store.
    public var schemaVersion: Int64 = 0
    /// When the last committed import ran (UNIX seconds), if any did.
    public var lastImportTime: Int64?
    /// The file the last committed import read (`-` for standard input), if any.
    public var lastImportSource: String?

    /// Database plus write-ahead log: what the store takes on disk.
    public var totalBytes: Int64 { databaseBytes + walBytes }

    /// Creates empty statistics.
    public init() {}
}
