import TokenStore

/// The PostgreSQL store's schema, created by tokenctl's first write in the connection's
/// `search_path` schema (or by a DBA from this SQL):
///
/// ```sql
/// CREATE TABLE udesk_tokens (
///     number     text PRIMARY KEY,           -- canonical key: E.164 with '+', e.g. +8613800138000
///     token      text NOT NULL,
///     minted     boolean NOT NULL DEFAULT false,  -- derived by the responder (--unknown mint)
///     updated_at bigint NOT NULL             -- UNIX seconds the token last changed (minted: first seen)
/// );
/// CREATE TABLE udesk_token_meta (key text PRIMARY KEY, value text NOT NULL);
/// INSERT INTO udesk_token_meta VALUES ('schema_version', '1');
/// ```
///
/// `udesk_token_meta` also holds `last_import_time` and `last_import_source`. The responder
/// needs `SELECT` on both tables (and `INSERT` on `udesk_tokens` to record minted tokens).
public enum PostgresSchema {
    /// The newest schema this binary knows.
    public static let currentVersion: Int64 = 1

    /// The statements that create version 1; idempotent.
    static let create = """
        CREATE TABLE IF NOT EXISTS udesk_tokens (
            number text PRIMARY KEY,
            token text NOT NULL,
            minted boolean NOT NULL DEFAULT false,
            updated_at bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS udesk_token_meta (key text PRIMARY KEY, value text NOT NULL);
        INSERT INTO udesk_token_meta VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
        """

    /// The recorded schema version; 0 when the tables are not there. `run` runs one statement
    /// (blocking for tokenctl, within the store timeout for the responder).
    static func version(_ run: (String) throws(StoreError) -> PGResult) throws(StoreError) -> Int64 {
        let exists = try run("SELECT to_regclass('udesk_token_meta') IS NOT NULL")
        guard exists.text(0, 0) == "t" else { return 0 }
        let result = try run("SELECT value FROM udesk_token_meta WHERE key = 'schema_version'")
        return result.rows == 0 ? 0 : (Int64(result.text(0, 0) ?? "") ?? 0)
    }

    /// ``version(_:)`` on a blocking connection (tokenctl).
    static func version(_ connection: PGConnection) throws(StoreError) -> Int64 {
        try version { sql throws(StoreError) in try connection.execute(sql) }
    }

    /// Throws unless `version` can be read by this binary.
    static func checkReadable(version: Int64, name: String) throws(StoreError) {
        if version == 0 {
            throw StoreError(
                .incompatibleSchema,
                "\(name) has no token store yet (create it with `tokenctl --store URI import FILE`, or with the SQL in the README)"
            )
        }
        if version > currentVersion {
            throw StoreError(
                .incompatibleSchema,
                "\(name) has schema version \(version), newer than this binary knows (\(currentVersion)); upgrade token-responder and tokenctl"
            )
        }
    }
}
