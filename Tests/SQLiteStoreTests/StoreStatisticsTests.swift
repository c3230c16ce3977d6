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
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n13700000000,c\n", into: store, in: directory)
        try StoreTestSupport.execute("UPDATE tokens SET minted = 1 WHERE number = '+8613700000000'", on: store)
        let stats = try SQLiteInspector(path: store).statistics()
        #expect(stats.rows == 3)
        #expect(stats.mintedRows == 1)
        #expect(stats.schemaVersion == SQLiteSchema.currentVersion)
        #expect(stats.databaseBytes > 0)
        #expect(stats.totalBytes == stats.databaseBytes + stats.walBytes)
        #expect(stats.lastImportSource == "-")
        #expect(stats.lastImportTime != nil)
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
