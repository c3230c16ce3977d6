import Glibc

/// Facts about a token store, as `tokenctl stats` shows them.
public struct StoreStatistics: Sendable, Equatable {
    /// Rows in the `tokens` table.
    public var rows = 0
    /// Rows the responder minted itself (`minted = 1`).
    public var mintedRows = 0
    /// Size of the database file in bytes.
    public var databaseBytes: Int64 = 0
    /// Size of its write-ahead log (`-wal`) in bytes; 0 if there is none.
    public var walBytes: Int64 = 0
    /// `PRAGMA user_version`.
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

extension TokenStoreInspector {
    /// Counts the rows (one scan, in one snapshot) and reads the file sizes and the metadata.
    public func statistics() throws(StoreError) -> StoreStatistics {
        var stats = StoreStatistics()
        stats.schemaVersion = try schemaVersion()
        try StoreSchema.checkReadable(version: stats.schemaVersion, path: path)
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let counts = try connection.prepare(
            "SELECT count(*), coalesce(sum(minted = 1), 0) FROM tokens", persistent: false)
        if try counts.step() {
            stats.rows = Int(counts.int64(0))
            stats.mintedRows = Int(counts.int64(1))
        }
        counts.reset()
        stats.lastImportTime = try meta("last_import_time").flatMap { Int64($0) }
        stats.lastImportSource = try meta("last_import_source")
        stats.databaseBytes = Self.fileSize(path) ?? 0
        stats.walBytes = Self.fileSize(path + "-wal") ?? 0
        return stats
    }

    /// Size of the file at `path`, nil if it does not exist.
    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }
}
