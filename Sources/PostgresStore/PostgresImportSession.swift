import CLibPQ
import TokenStore

/// One import into a PostgreSQL store, in one transaction: the rows stream through `COPY` into
/// a temporary staging table, then are merged (or, with `--replace`, swapped) into
/// `udesk_tokens` by set statements. Readers see all of the old rows or all of the new.
final class PostgresImportSession: ImportSession {
    private let writer: PostgresWriter
    private var connection: PGConnection { writer.connection }
    private let now: Int64
    let rowsBefore: Int
    /// COPY text waiting to be sent.
    private var pending: [UInt8] = []
    private var copying = true
    private var merged = false
    /// True when some number is listed more than once (known after ``repeatedKeys()``).
    private var hasRepeats = true

    /// Bytes of COPY text sent per `PQputCopyData`.
    static let chunkBytes = 1 << 18

    init(writer: PostgresWriter, options: ImportSessionOptions) throws(StoreError) {
        self.writer = writer
        now = options.now
        let connection = writer.connection
        try writer.beginWriting()
        do throws(StoreError) {
            // No other writer until commit (minting responders wait, or give up after their
            // lock_timeout and answer the derived token); lookups are not held up.
            try connection.execute("LOCK TABLE udesk_tokens IN SHARE ROW EXCLUSIVE MODE")
            rowsBefore = Int(try connection.execute("SELECT count(*) FROM udesk_tokens").int64(0, 0))
            try connection.execute(
                "CREATE TEMPORARY TABLE udesk_import(line bigint NOT NULL, number text NOT NULL, token text NOT NULL) ON COMMIT DROP"
            )
            try connection.execute("COPY udesk_import(line, number, token) FROM STDIN")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        pending.reserveCapacity(Self.chunkBytes + 1024)
    }

    func add(key: String, token: String, line: Int) throws(StoreError) {
        pending.append(contentsOf: String(line).utf8)
        pending.append(0x09)
        Self.appendCopyField(key, to: &pending)
        pending.append(0x09)
        Self.appendCopyField(token, to: &pending)
        pending.append(0x0A)
        if pending.count >= Self.chunkBytes { try flush() }
    }

    /// COPY's text format: backslash, tab, LF and CR escaped (the token rules allow none of the
    /// last three, but a backslash is an ordinary character in a token).
    private static func appendCopyField(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            default: out.append(byte)
            }
        }
    }

    private func flush() throws(StoreError) {
        guard !pending.isEmpty else { return }
        let sent = pending.withUnsafeBytes { bytes in
            token_PQputCopyData(
                connection.handle, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        }
        pending.removeAll(keepingCapacity: true)
        guard sent == 1 else { throw StoreError(.database, "\(connection.name): COPY failed: \(connection.lastError)") }
    }

    /// Ends the COPY (once) so that the staging table can be queried.
    private func finishCopy() throws(StoreError) {
        guard copying else { return }
        copying = false
        try flush()
        guard token_PQputCopyEnd(connection.handle, nil) == 1 else {
            throw StoreError(.database, "\(connection.name): COPY failed: \(connection.lastError)")
        }
        _ = try PGResult(checking: token_PQgetResult(connection.handle), on: connection)
        while let extra = token_PQgetResult(connection.handle) { token_PQclear(extra) }
        try connection.execute("ANALYZE udesk_import")
    }

    func repeatedKeys() throws(StoreError) -> [RepeatedKey] {
        try finishCopy()
        // A hash aggregate finds the repeated numbers (usually none); only their rows are read again.
        hasRepeats =
            try connection.execute(
                """
                CREATE TEMPORARY TABLE udesk_repeated ON COMMIT DROP AS
                SELECT number FROM udesk_import GROUP BY number HAVING count(*) > 1
                """
            ).changed > 0
        guard hasRepeats else { return [] }
        let result = try connection.execute(
            """
            WITH rows AS (
                SELECT i.line, i.number, i.token,
                       first_value(i.line) OVER w AS first_line, first_value(i.token) OVER w AS first_token
                FROM udesk_import i JOIN udesk_repeated r USING (number)
                WINDOW w AS (PARTITION BY i.number ORDER BY i.line)
            )
            SELECT line, first_line, token = first_token FROM rows WHERE line <> first_line ORDER BY line
            """)
        return (0..<result.rows).map { row in
            RepeatedKey(
                line: Int(result.int64(row, 0)), earlierLine: Int(result.int64(row, 1)),
                sameToken: result.text(row, 2) == "t")
        }
    }

    func removeUnlisted() throws(StoreError) -> Int {
        try finishCopy()
        return try connection.execute(
            "DELETE FROM udesk_tokens t WHERE NOT EXISTS (SELECT 1 FROM udesk_import i WHERE i.number = t.number)"
        ).changed
    }

    func tally() throws(StoreError) -> (rows: Int, changed: Int) {
        try finishCopy()
        var changed = 0
        if !merged {
            merged = true
            // Only rows that are new, have another token or were minted are written (a
            // re-import of the same file writes nothing), and new rows go in in key order with
            // no conflict handling (the table is locked against other writers: see init): about
            // half the time of one INSERT … ON CONFLICT (docs/PERFORMANCE.md). The first row of
            // a repeated number wins.
            let source =
                hasRepeats
                ? "(SELECT DISTINCT ON (number) number, token FROM udesk_import ORDER BY number, line)" : "udesk_import"
            changed = try connection.execute(
                """
                UPDATE udesk_tokens t SET token = s.token, minted = false, updated_at = $1 FROM \(source) s
                WHERE t.number = s.number AND (t.token IS DISTINCT FROM s.token OR t.minted)
                """, [String(now)]
            ).changed
            changed += try connection.execute(
                """
                INSERT INTO udesk_tokens(number, token, minted, updated_at)
                SELECT s.number, s.token, false, $1 FROM \(source) s
                WHERE NOT EXISTS (SELECT 1 FROM udesk_tokens t WHERE t.number = s.number) ORDER BY s.number
                """, [String(now)]
            ).changed
        }
        let rows = Int(try connection.execute("SELECT count(*) FROM udesk_tokens").int64(0, 0))
        return (rows, changed)
    }

    func commit(source: String) throws(StoreError) {
        try connection.execute(
            """
            INSERT INTO udesk_token_meta(key, value) VALUES ('last_import_time', $1), ('last_import_source', $2)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, [String(now), source])
        try connection.execute("COMMIT")
    }

    func rollBack() throws(StoreError) {
        if copying {
            copying = false
            _ = token_PQputCopyEnd(connection.handle, "import abandoned")
            while let result = token_PQgetResult(connection.handle) { token_PQclear(result) }
        }
        try connection.execute("ROLLBACK")
    }

    func abandon() {
        try? rollBack()
    }
}
