import CSQLite
import TokenStore

/// A minimal owner of one `sqlite3*` handle. Not thread-safe: each thread opens its own
/// (SQLite is built in serialized mode on Debian, but we open with NOMUTEX and never share).
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String

    /// Opens `path` with SQLite `flags`; a failed open releases the handle and throws.
    init(path: String, flags: Int32) throws(StoreError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StoreError(.cannotOpen, "cannot open token store \(path): \(reason)")
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The last error SQLite reported on this connection.
    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more SQL statements that return no rows.
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let reason = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw StoreError(.database, "\(path): \(reason)")
        }
    }

    /// Prepares a statement for repeated use.
    func prepare(_ sql: String, persistent: Bool = true) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw StoreError(.database, "\(path): \(lastError)")
        }
        return SQLiteStatement(handle: statement, connection: self)
    }

    /// Runs a query returning one integer (e.g. a PRAGMA); nil if it returns no row.
    func integer(_ sql: String) throws(StoreError) -> Int64? {
        let statement = try prepare(sql, persistent: false)
        return try statement.step() ? statement.int64(0) : nil
    }

    /// True when the database file this connection opened is no longer at its path (renamed,
    /// deleted or replaced), as SQLite itself checks it (`SQLITE_FCNTL_HAS_MOVED`).
    var hasMoved: Bool {
        var moved: Int32 = 0
        return sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement. Reset it after use so it does not hold a read snapshot open.
final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Resets the statement and clears its bindings.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds text to parameter `index` (1-based); SQLite copies it.
    func bind(_ value: String, at index: Int32) throws(StoreError) {
        let rc = sqlite3_bind_text(handle, index, value, -1, token_sqlite_transient())
        guard rc == SQLITE_OK else { throw StoreError(.database, "\(connection.path): \(connection.lastError)") }
    }

    /// Binds an integer to parameter `index` (1-based).
    func bind(_ value: Int64, at index: Int32) throws(StoreError) {
        let rc = sqlite3_bind_int64(handle, index, value)
        guard rc == SQLITE_OK else { throw StoreError(.database, "\(connection.path): \(connection.lastError)") }
    }

    /// Advances; true if a row is available, false when done.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let reason = connection.lastError
            sqlite3_reset(handle)
            throw StoreError(.database, "\(connection.path): \(reason)")
        }
    }

    /// Column `index` (0-based) as text; nil for NULL.
    func text(_ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// Column `index` (0-based) as bytes borrowed from SQLite until the next step or reset;
    /// empty for NULL.
    func bytes(_ index: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let pointer = sqlite3_column_text(handle, index) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, index)))
    }

    /// Column `index` (0-based) as a 64-bit integer.
    func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }
}

extension SQLiteConnection {
    /// A fact from the store's `meta` table, or nil.
    func meta(_ key: String) throws(StoreError) -> String? {
        let statement = try prepare("SELECT value FROM meta WHERE key = ?1", persistent: false)
        defer { statement.reset() }
        try statement.bind(key, at: 1)
        return try statement.step() ? statement.text(0) : nil
    }

    /// Records a fact in the `meta` table.
    func setMeta(_ key: String, _ value: String) throws(StoreError) {
        let statement = try prepare(
            "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            persistent: false)
        try statement.bind(key, at: 1)
        try statement.bind(value, at: 2)
        _ = try statement.step()
    }
}
