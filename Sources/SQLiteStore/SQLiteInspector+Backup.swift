import CSQLite
import Glibc
import TokenStore

extension SQLiteInspector {
    /// Writes a consistent copy of the store to `destination` with `VACUUM INTO`, while the
    /// responder keeps reading and `tokenctl` keeps writing: the copy is one snapshot, compacted,
    /// with no `-wal` file to carry along. Returns the copy's size in bytes.
    ///
    /// The copy is made as `DEST.tmp-XXXXXX` (mode 0640) next to `destination`, fsynced, then
    /// moved into place, so `destination` is never a half-written database. An existing
    /// `destination` is an error unless `overwrite` is true (then it is replaced atomically).
    public func backup(to destination: String, overwrite: Bool = false) throws -> Int64 {
        try requireReadableSchema()
        return try SQLiteBackupFile.write(to: destination, overwrite: overwrite, source: path) { temporaryPath in
            let vacuum = try connection.prepare("VACUUM INTO ?1", persistent: false)
            defer { vacuum.reset() }
            try vacuum.bind(temporaryPath, at: 1)
            _ = try vacuum.step()
        }
    }
}

/// A SQLite store file written next to its destination and moved into place complete: what
/// `tokenctl backup` writes, from a SQLite store or from another engine's rows.
public enum SQLiteBackupFile {
    /// Makes `destination` through `fill`, which writes a store at the temporary path it is
    /// given; refuses an existing `destination` unless `overwrite`, and `source` itself.
    /// Returns the file's size in bytes.
    static func write(
        to destination: String, overwrite: Bool, source: String?, fill: (String) throws -> Void
    ) throws -> Int64 {
        var sourceInfo = stat()
        var destinationInfo = stat()
        if stat(destination, &destinationInfo) == 0 {
            if let source, stat(source, &sourceInfo) == 0, sourceInfo.st_dev == destinationInfo.st_dev,
                sourceInfo.st_ino == destinationInfo.st_ino
            {
                throw OutputError("\(destination) is the store itself")
            }
            if !overwrite { throw OutputError("\(destination) already exists (use --force to replace it)") }
        }
        let file = try AtomicOutputFile(path: destination)
        try fill(file.temporaryPath)
        do throws(OutputError) {
            try file.commit(overwrite: overwrite)
        } catch {
            // Created by someone else while the copy was being made.
            if !overwrite && access(destination, F_OK) == 0 {
                throw OutputError("\(destination) already exists (use --force to replace it)")
            }
            throw error
        }
        var info = stat()
        guard stat(destination, &info) == 0 else {
            throw OutputError.system("cannot stat \(destination)", errno: errno)
        }
        return Int64(info.st_size)
    }

    /// Writes a SQLite store at `destination` holding the rows `rows` hands to its argument
    /// (canonical key, token, minted, updated_at), in one transaction.
    public static func write(
        to destination: String, overwrite: Bool,
        rows: (_ add: (String, String, Bool, Int64) throws -> Void) throws -> Void
    ) throws -> Int64 {
        try write(to: destination, overwrite: overwrite, source: nil) { temporaryPath in
            let connection = try SQLiteConnection(path: temporaryPath, flags: SQLITE_OPEN_READWRITE)
            try connection.execute("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF")
            try connection.execute("BEGIN")
            try SQLiteSchema.migrateInTransaction(connection)
            let insert = try connection.prepare(
                "INSERT INTO tokens(number, token, minted, updated_at) VALUES(?1, ?2, ?3, ?4)")
            try rows { key, token, minted, updatedAt in
                defer { insert.reset() }
                try insert.bind(key, at: 1)
                try insert.bind(token, at: 2)
                try insert.bind(minted ? 1 : 0, at: 3)
                try insert.bind(updatedAt, at: 4)
                _ = try insert.step()
            }
            try connection.execute("COMMIT")
        }
    }
}
