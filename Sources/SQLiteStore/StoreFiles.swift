import Glibc

/// Which files are at a store's path right now: the database, its `-wal` and its `-shm`, by
/// device and inode, and whether the database file still has content.
///
/// A reader records them when it opens the store and compares before every snapshot: if an
/// operator removed the `-wal`/`-shm` files, moved a backup over the store, or deleted it, the
/// files SQLite has open are no longer the ones other processes use, and reading on would mix
/// two generations of files (a writer that cannot see the reader's locks rewrites pages under
/// it). The reader must then be closed and the store opened again.
struct StoreFiles: Equatable, Sendable {
    /// One file's identity; nil when no file is at that path.
    struct Identity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    /// The database file (nil: missing).
    var database: Identity?
    /// True when the database file is empty: truncated, or a placeholder with no store in it.
    var databaseIsEmpty: Bool
    /// The write-ahead log.
    var wal: Identity?
    /// The WAL index (shared memory) file.
    var shm: Identity?

    /// The three paths of a store, as C strings built once (a reader checks them per snapshot).
    struct Paths: Sendable {
        let database: [CChar]
        let wal: [CChar]
        let shm: [CChar]

        /// The paths of the store at `path`.
        init(_ path: String) {
            database = Array(path.utf8CString)
            wal = Array((path + "-wal").utf8CString)
            shm = Array((path + "-shm").utf8CString)
        }
    }

    /// Reads the identities of the files at `paths` (three `stat`s, nothing allocated).
    init(_ paths: Paths) {
        var info = stat()
        if stat(paths.database, &info) == 0 {
            database = Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            databaseIsEmpty = info.st_size == 0
        } else {
            database = nil
            databaseIsEmpty = true
        }
        wal = Self.identity(paths.wal)
        shm = Self.identity(paths.shm)
    }

    private static func identity(_ path: [CChar]) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// True when these files can still be read as the store a reader opened as `opened`: the
    /// same three files, and a database file that is not empty.
    func areStill(_ opened: StoreFiles) -> Bool {
        self == opened && !databaseIsEmpty
    }
}
