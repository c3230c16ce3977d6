import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("held read snapshot")
struct TokenStoreSnapshotTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }
    let key = "+8613800138000"

    @Test("a held snapshot hides a later commit until released")
    func heldThenReleased() throws {
        let writer = try SQLiteWriter(path: store)
        _ = try writer.put(key: key, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 1_000))
        #expect(reader.holdsSnapshot)
        #expect(try reader.token(forKey: key) == "old")
        _ = try writer.put(key: key, token: "new")
        #expect(try reader.token(forKey: key) == "old")
        reader.releaseSnapshot()
        #expect(!reader.holdsSnapshot)
        #expect(try reader.token(forKey: key) == "new")
    }

    @Test("a snapshot older than its maximum age is renewed on the next hold")
    func renewedWhenOld() throws {
        let writer = try SQLiteWriter(path: store)
        _ = try writer.put(key: key, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 1_000))
        #expect(try reader.token(forKey: key) == "old")
        _ = try writer.put(key: key, token: "new")
        #expect(reader.holdSnapshot(now: 1_000, maxAge: 1_000))
        #expect(try reader.token(forKey: key) == "old")
        #expect(reader.holdSnapshot(now: 1_001, maxAge: 1_000))
        #expect(try reader.token(forKey: key) == "new")
    }

    @Test("without a held snapshot every lookup sees the latest commit")
    func autocommitSeesCommits() throws {
        let writer = try SQLiteWriter(path: store)
        _ = try writer.put(key: key, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(try reader.token(forKey: key) == "old")
        _ = try writer.put(key: key, token: "new")
        #expect(try reader.token(forKey: key) == "new")
    }

    @Test("an import --replace commits while a snapshot is held, and is seen after release")
    func importWhileHeld() throws {
        try StoreTestSupport.importCSV("number,token\n13800138000,old\n", into: store, in: directory)
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 1_000))
        #expect(try reader.token(forKey: key) == "old")
        try StoreTestSupport.importCSV(
            "number,token\n13800138001,other\n", into: store, in: directory, replace: true, maxRemove: .percent(100))
        #expect(try reader.token(forKey: key) == "old")
        reader.releaseSnapshot()
        #expect(try reader.token(forKey: key) == nil)
        #expect(try reader.token(forKey: "+8613800138001") == "other")
    }
}

@Suite("health query")
struct SQLiteHealthTests {
    let directory = TemporaryDirectory()

    @Test("a readable store is healthy; one whose table is gone is not")
    func health() throws {
        let store = "\(directory.path)/tokens.db"
        try StoreTestSupport.importCSV("13800138000,a\n", into: store, in: directory)
        let reader = try SQLiteReader(path: store)
        try reader.checkHealth()
        try StoreTestSupport.execute("DROP TABLE tokens", on: store)
        #expect(throws: StoreError.self) { try reader.checkHealth() }
    }
}
