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
        var storeInfo = stat()
        var destinationInfo = stat()
        if stat(destination, &destinationInfo) == 0 {
            if stat(path, &storeInfo) == 0 && storeInfo.st_dev == destinationInfo.st_dev
                && storeInfo.st_ino == destinationInfo.st_ino
            {
                throw OutputError("\(destination) is the store itself")
            }
            if !overwrite { throw OutputError("\(destination) already exists (use --force to replace it)") }
        }
        let file = try AtomicOutputFile(path: destination)
        let vacuum = try connection.prepare("VACUUM INTO ?1", persistent: false)
        defer { vacuum.reset() }
        try vacuum.bind(file.temporaryPath, at: 1)
        _ = try vacuum.step()
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
}
