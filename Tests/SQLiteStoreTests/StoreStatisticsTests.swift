import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("stats")
struct StoreStatisticsTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    @Test("rows, minted rows, schema version, sizes and the last import")
    func statistics() throws {
        let started = Int64(time(nil))
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n13700000000,c\n", into: store, in: directory)
        try StoreTestSupport.execute("UPDATE tokens SET minted = 1 WHERE number = '+8613700000000'", on: store)
        let stats = try SQLiteInspector(path: store).statistics()
        #expect(stats.rows == 3)
        #expect(stats.mintedRows == 1)
        #expect(stats.schemaVersion == SQLiteSchema.currentVersion)
        #expect(stats.databaseBytes == Self.size(store))
        #expect(stats.databaseBytes >= 4096)
        #expect(stats.walBytes == Self.size(store + "-wal"), "the import emptied the log")
        #expect(stats.lastImportSource == "-")
        let imported = try #require(stats.lastImportTime)
        #expect((started...Int64(time(nil))).contains(imported))
    }

    /// The size of the file at `path`, 0 if there is none.
    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    @Test("a store never imported into has no last import")
    func neverImported() throws {
        _ = try SQLiteWriter(path: store).put(key: "+8613800138000", token: "a")
        let stats = try SQLiteInspector(path: store).statistics()
        #expect(stats.rows == 1 && stats.mintedRows == 0)
        #expect(stats.lastImportTime == nil && stats.lastImportSource == nil)
    }

    @Test("a missing store is an error, and is not created")
    func missing() {
        let path = "\(directory.path)/none.db"
        #expect(throws: StoreError.self) { try SQLiteInspector(path: path) }
        #expect(StoreTestSupport.mode(path) == 0)
    }
}
