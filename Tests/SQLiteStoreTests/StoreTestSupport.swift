import CSQLite
import Glibc
import TokenCore

@testable import SQLiteStore
@testable import TokenImport
@testable import TokenStore

/// Shared steps for the store tests: import text, export to text, read a file back.
enum StoreTestSupport {
    /// Imports `text` (CSV) into the store at `store`, through a file in `directory`.
    @discardableResult
    static func importCSV(
        _ text: String, into store: String, in directory: TemporaryDirectory, replace: Bool = false,
        maxRemove: RemovalLimit = .default
    ) throws -> ImportReport {
        var options = TokenImporter.Options()
        options.replace = replace
        options.maxRemove = maxRemove
        return try importCSV(text, into: SQLiteWriter(path: store), in: directory, options: options)
    }

    /// Imports `text` (CSV) through `writer` with `options`, through a file in `directory`.
    @discardableResult
    static func importCSV(
        _ text: String, into writer: SQLiteWriter, in directory: TemporaryDirectory,
        options: TokenImporter.Options = .init()
    ) throws -> ImportReport {
        let file = directory.write("import-\(UInt32.random(in: 0...UInt32.max)).csv", text)
        let fd = open(file, O_RDONLY)
        defer { close(fd) }
        return try TokenImporter(normaliser: PhoneNumberNormaliser(), options: options).run(fd: fd, into: writer)
    }

    /// The store's export as text (written through an ``AtomicOutputFile`` in `directory`).
    static func exportCSV(_ store: String, in directory: TemporaryDirectory, minted: Bool = false) throws -> String {
        let path = "\(directory.path)/export-\(UInt32.random(in: 0...UInt32.max)).csv"
        var options = TokenExporter.Options()
        options.mintedOnly = minted
        let file = try AtomicOutputFile(path: path)
        _ = try TokenExporter(options: options).run(
            from: SQLiteInspector(path: store), to: BufferedOutput(fd: file.fd, name: path))
        try file.commit()
        return try readFile(path)
    }

    /// The whole content of `path` as UTF-8 text.
    static func readFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OutputError.system("cannot open \(path)", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs SQL on the store directly, to make states tokenctl itself never writes.
    static func execute(_ sql: String, on store: String) throws {
        try SQLiteConnection(path: store, flags: SQLITE_OPEN_READWRITE).execute(sql)
    }

    /// `st_mode & 0o777` of `path`.
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    /// Names in `directory` starting with `prefix`.
    static func files(in directory: String, prefix: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        return names
    }
}
