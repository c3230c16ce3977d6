import CLibPQ
import Glibc
import SQLiteStore
import TokenStore

/// Read-only access to a whole PostgreSQL token store, for `tokenctl get`, `export`, `stats`,
/// `verify` and `backup`. Each operation reads one snapshot (a REPEATABLE READ, READ ONLY
/// transaction), so it may run while an import commits.
final class PostgresInspector: StoreInspector {
    let connection: PGConnection
    let location: StoreLocation
    var knownSchemaVersion: Int64 { PostgresSchema.currentVersion }
    private var inTransaction = false

    init(uri: String, location: StoreLocation) throws(StoreError) {
        self.location = location
        connection = try PGConnection.connect(uri: uri, name: location.description)
    }

    func schemaVersion() throws(StoreError) -> Int64 {
        try PostgresSchema.version(connection)
    }

    func requireReadableSchema() throws(StoreError) {
        try PostgresSchema.checkReadable(version: try schemaVersion(), name: location.description)
    }

    func token(forKey key: String) throws(StoreError) -> String? {
        try requireReadableSchema()
        let result = try connection.execute("SELECT token FROM udesk_tokens WHERE number = $1", [key])
        return result.rows > 0 ? result.text(0, 0) : nil
    }

    func statistics() throws(StoreError) -> StoreStatistics {
        try snapshot { () throws(StoreError) -> StoreStatistics in
            var stats = StoreStatistics()
            stats.schemaVersion = try schemaVersion()
            try PostgresSchema.checkReadable(version: stats.schemaVersion, name: location.description)
            let counts = try connection.execute(
                "SELECT count(*), count(*) FILTER (WHERE minted), pg_total_relation_size('udesk_tokens') FROM udesk_tokens"
            )
            stats.rows = Int(counts.int64(0, 0))
            stats.mintedRows = Int(counts.int64(0, 1))
            stats.databaseBytes = counts.int64(0, 2)
            let meta = try connection.execute(
                "SELECT key, value FROM udesk_token_meta WHERE key IN ('last_import_time', 'last_import_source')")
            for row in 0..<meta.rows {
                switch meta.text(row, 0) {
                case "last_import_time": stats.lastImportTime = Int64(meta.text(row, 1) ?? "")
                default: stats.lastImportSource = meta.text(row, 1)
                }
            }
            return stats
        }
    }

    /// ``inSnapshot(_:)`` for a body that throws only store errors.
    private func snapshot<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        do {
            return try inSnapshot { () throws -> T in try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "\(location): \(error)")
        }
    }

    /// Runs `body` in one read-only snapshot (REPEATABLE READ), unless already inside one.
    func inSnapshot<T>(_ body: () throws -> T) throws -> T {
        guard !inTransaction else { return try body() }
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        inTransaction = true
        defer {
            inTransaction = false
            _ = try? connection.execute("COMMIT")
        }
        return try body()
    }

    /// Calls `body` with every batch of rows of `query`, through a cursor in one snapshot, so
    /// memory stays flat for any number of rows.
    private func forEachBatch(_ query: String, _ body: (PGResult) throws -> Void) throws {
        try inSnapshot {
            try connection.execute("DECLARE udesk_rows NO SCROLL CURSOR FOR " + query)
            defer { _ = try? connection.execute("CLOSE udesk_rows") }
            while true {
                let batch = try connection.execute("FETCH 10000 FROM udesk_rows")
                if batch.rows == 0 { break }
                try body(batch)
            }
        }
    }

    func forEachRow(mintedOnly: Bool, _ body: (StoredRow) throws -> Void) throws {
        // Bytewise order, as SQLite sorts, so both engines export the same file.
        let filter = mintedOnly ? " WHERE minted" : ""
        try forEachBatch("SELECT number, token, updated_at FROM udesk_tokens\(filter) ORDER BY number COLLATE \"C\"") {
            batch in
            for row in 0..<batch.rows {
                try body(
                    StoredRow(key: batch.bytes(row, 0), token: batch.bytes(row, 1), updatedAt: batch.int64(row, 2)))
            }
        }
    }

    /// PostgreSQL checks its pages itself (checksums, amcheck for DBAs); here: that the table
    /// and its primary key are what this binary reads.
    func integrityProblems(limit: Int) throws(StoreError) -> [String] {
        guard try schemaVersion() > 0 else { return [] }
        let key = try connection.execute(
            """
            SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'udesk_tokens'::regclass AND i.indisprimary AND a.attname = 'number'
            """)
        return key.int64(0, 0) == 1 ? [] : ["udesk_tokens has no primary key on number"]
    }

    /// Writes a SQLite store file holding the same rows (tokens, minted flags, times), from one
    /// snapshot: a node's local fallback, or the seed of a single node.
    func backup(to destination: String, overwrite: Bool) throws -> Int64 {
        try requireReadableSchema()
        return try SQLiteBackupFile.write(to: destination, overwrite: overwrite) { add in
            try forEachBatch("SELECT number, token, minted, updated_at FROM udesk_tokens ORDER BY number COLLATE \"C\"")
            {
                batch in
                for row in 0..<batch.rows {
                    try add(
                        batch.text(row, 0) ?? "", batch.text(row, 1) ?? "", batch.text(row, 2) == "t",
                        batch.int64(row, 3))
                }
            }
        }
    }
}
