import CSQLite
import TokenStore

/// One import into a SQLite store, in one IMMEDIATE transaction.
///
/// Rows are marked in the `tokens` table itself with the import's generation (`seen_in`,
/// `changed_in`, `seen_line`), so repeats, changes and unlisted rows (`--replace`) are found
/// without a second table or index, and memory stays flat.
final class SQLiteImportSession: ImportSession {
    private let writer: SQLiteWriter
    private var connection: SQLiteConnection { writer.connection }
    /// This import's generation, one more than the last import's.
    private let generation: Int64
    let rowsBefore: Int
    private let upsert: SQLiteStatement
    private let earlier: SQLiteStatement
    private var repeats: [RepeatedKey] = []
    /// The import's time, given to the rows it changes and recorded as the last import.
    private let now: Int64

    init(writer: SQLiteWriter, options: ImportSessionOptions) throws(StoreError) {
        self.writer = writer
        self.now = options.now
        let connection = writer.connection
        try connection.execute("PRAGMA cache_size = -\(options.cacheKiB)")
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            try writer.createSchemaIfNeeded()
            generation = (Int64(try connection.meta("import_generation") ?? "0") ?? 0) + 1
            try connection.setMeta("import_generation", String(generation))
            rowsBefore = try writer.count()
            // A row already listed in this generation is left alone (then checked for a
            // conflict); otherwise the token is stored and the row marked as seen, and as
            // changed if its token differs or was minted.
            upsert = try connection.prepare(
                """
                INSERT INTO tokens(number, token, minted, updated_at, seen_in, changed_in, seen_line)
                VALUES(?1, ?2, 0, ?3, ?4, ?4, ?5)
                ON CONFLICT(number) DO UPDATE SET
                    changed_in = CASE WHEN token IS excluded.token AND minted = 0 THEN changed_in ELSE excluded.changed_in END,
                    updated_at = CASE WHEN token IS excluded.token AND minted = 0 THEN updated_at ELSE excluded.updated_at END,
                    token = excluded.token, minted = 0, seen_in = excluded.seen_in, seen_line = excluded.seen_line
                WHERE tokens.seen_in != excluded.seen_in
                """)
            earlier = try connection.prepare("SELECT token, seen_line FROM tokens WHERE number = ?1")
        } catch {
            writer.rollBackAfterFailure()
            throw error
        }
    }

    func add(key: String, token: String, line: Int) throws(StoreError) {
        defer { upsert.reset() }
        try upsert.bind(key, at: 1)
        try upsert.bind(token, at: 2)
        try upsert.bind(now, at: 3)
        try upsert.bind(generation, at: 4)
        try upsert.bind(Int64(line), at: 5)
        _ = try upsert.step()
        if connection.changes > 0 { return }
        defer { earlier.reset() }
        try earlier.bind(key, at: 1)
        _ = try earlier.step()
        repeats.append(RepeatedKey(line: line, earlierLine: Int(earlier.int64(1)), sameToken: earlier.text(0) == token))
    }

    func repeatedKeys() throws(StoreError) -> [RepeatedKey] {
        repeats
    }

    func removeUnlisted() throws(StoreError) -> Int {
        try connection.execute("DELETE FROM tokens WHERE seen_in != \(generation)")
        return connection.changes
    }

    func tally() throws(StoreError) -> (rows: Int, changed: Int) {
        let changed = try connection.integer("SELECT count(*) FROM tokens WHERE changed_in = \(generation)") ?? 0
        return (try writer.count(), Int(changed))
    }

    func commit(source: String) throws(StoreError) {
        try connection.setMeta("last_import_time", String(now))
        try connection.setMeta("last_import_source", source)
        try connection.execute("COMMIT")
        writer.schemaCommitted()
        writer.checkpoint()
    }

    func rollBack() throws(StoreError) {
        try connection.execute("ROLLBACK")
    }

    func abandon() {
        writer.rollBackAfterFailure()
    }
}
