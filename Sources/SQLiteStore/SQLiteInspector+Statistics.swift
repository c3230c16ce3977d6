import Glibc
import TokenStore

extension SQLiteInspector {
    /// Counts the rows (one scan, in one snapshot) and reads the file sizes and the metadata.
    public func statistics() throws(StoreError) -> StoreStatistics {
        var stats = StoreStatistics()
        stats.schemaVersion = try schemaVersion()
        try SQLiteSchema.checkReadable(version: stats.schemaVersion, path: path)
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let counts = try connection.prepare(
            "SELECT count(*), coalesce(sum(minted = 1), 0) FROM tokens", persistent: false)
        if try counts.step() {
            stats.rows = Int(counts.int64(0))
            stats.mintedRows = Int(counts.int64(1))
        }
        counts.reset()
        stats.lastImportTime = try connection.meta("last_import_time").flatMap { Int64($0) }
        stats.lastImportSource = try connection.meta("last_import_source")
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
