import TokenStore

/// The SQLite store's schema and its version (`PRAGMA user_version`).
///
/// Version 1:
/// - `tokens(number PRIMARY KEY, token, minted, updated_at, seen_in, changed_in, seen_line)`: `number` is the
///   canonical key made by `PhoneNumberNormaliser` (E.164 with `+`), `minted` is 1 for tokens the
///   responder derived itself, `updated_at` is UNIX seconds. `seen_in` and `changed_in` are the
///   import generation that last listed the row and that last changed its token, `seen_line` the
///   line of that import's file that listed it: they let an
///   import find duplicates, count changes and delete unlisted rows (`--replace`) in the table
///   itself, with no second index to maintain.
/// - `meta(key PRIMARY KEY, value)`: facts about the store (last import time and source).
public enum SQLiteSchema {
    /// The newest schema this binary knows.
    public static let currentVersion: Int64 = 1

    /// Migrations, index `n` takes the schema from version `n` to `n + 1`.
    static let migrations: [String] = [
        """
        CREATE TABLE tokens(
            number TEXT PRIMARY KEY NOT NULL,
            token TEXT NOT NULL,
            minted INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            seen_in INTEGER NOT NULL DEFAULT 0,
            changed_in INTEGER NOT NULL DEFAULT 0,
            seen_line INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
        """
    ]

    /// Checks that `version` can be read by this binary.
    static func checkReadable(version: Int64, path: String) throws(StoreError) {
        if version == 0 {
            throw StoreError(
                .incompatibleSchema,
                "\(path) is not a token store yet (create it with `tokenctl --store \(path) import FILE`)")
        }
        if version > currentVersion {
            throw StoreError(
                .incompatibleSchema,
                "\(path) has schema version \(version), newer than this binary knows (\(currentVersion)); upgrade token-responder and tokenctl"
            )
        }
    }

    /// Brings a writable connection's schema up to `currentVersion` in one transaction.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) {
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            try migrateInTransaction(connection)
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Brings the schema up to `currentVersion` inside the caller's write transaction, so
    /// that a new store's schema commits together with its first rows.
    static func migrateInTransaction(_ connection: SQLiteConnection) throws(StoreError) {
        let version = try connection.integer("PRAGMA user_version") ?? 0
        if version > currentVersion {
            throw StoreError(
                .incompatibleSchema,
                "\(connection.path) has schema version \(version), newer than this binary knows (\(currentVersion)); upgrade tokenctl"
            )
        }
        for step in Int(version)..<Int(currentVersion) {
            try connection.execute(migrations[step])
        }
        if version < currentVersion {
            try connection.execute("PRAGMA user_version = \(currentVersion)")
        }
    }

    /// True when the connection's store has no schema yet (a new file).
    static func isNew(_ connection: SQLiteConnection) throws(StoreError) -> Bool {
        (try connection.integer("PRAGMA user_version") ?? 0) == 0
    }
}
