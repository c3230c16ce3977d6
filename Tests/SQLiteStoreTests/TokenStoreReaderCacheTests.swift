import Testing

@testable import SQLiteStore
@testable import TokenStore

@Suite("reader page cache")
struct SQLiteReaderCacheTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    @Test("the cache is a sixteenth of the store, within SQLite's default and 8 MiB")
    func sizing() {
        #expect(SQLiteReader.cachePages(storePages: 0) == 500)
        #expect(SQLiteReader.cachePages(storePages: 8_000) == 500)
        // The 1M-row benchmark store: its 283 interior pages stay cached.
        #expect(SQLiteReader.cachePages(storePages: 16_440) == 1_027)
        #expect(SQLiteReader.cachePages(storePages: 1_000_000) == 2_048)
    }

    @Test("a reader sizes its cache from the store it opens")
    func appliedAtOpen() throws {
        try StoreTestSupport.importCSV("number,token\n13800138000,alice\n", into: store, in: directory)
        let small = try SQLiteReader(path: store)
        #expect(try small.connection.integer("PRAGMA cache_size") == 500)
        // About 40 MB of overflow pages make a store of about 9,800 pages.
        try StoreTestSupport.execute("INSERT INTO meta VALUES('padding', zeroblob(40000000))", on: store)
        let large = try SQLiteReader(path: store)
        let pages = try #require(try large.connection.integer("PRAGMA page_count"))
        #expect(pages > 9_000)
        #expect(try large.connection.integer("PRAGMA cache_size") == pages / 16)
        #expect(try large.token(forKey: "+8613800138000") == "alice")
    }
}
