import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

/// A reader refuses a new snapshot once the files at the store path are not the ones it opened.
@Suite("store files followed by the reader")
struct StoreFilesTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }
    let key = "+8613800138000"

    func makeStore(_ path: String, token: String) throws {
        let writer = try SQLiteWriter(path: path)
        _ = try writer.put(key: key, token: token)
    }

    @Test("unchanged files: snapshots are held as before")
    func unchanged() throws {
        try makeStore(store, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 10))
        reader.releaseSnapshot()
        #expect(reader.holdSnapshot(now: 100, maxAge: 10))
        #expect(try reader.token(forKey: key) == "old")
    }

    @Test("removed -wal and -shm files are noticed before the next snapshot")
    func removedWALAndSHM() throws {
        try makeStore(store, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 10))
        unlink(store + "-wal")
        unlink(store + "-shm")
        // A young snapshot is kept (no stat per lookup); a new one is refused.
        #expect(reader.holdSnapshot(now: 5, maxAge: 10))
        reader.releaseSnapshot()
        #expect(!reader.holdSnapshot(now: 20, maxAge: 10))
        #expect(!reader.holdsSnapshot)
    }

    @Test("a file moved over the store is noticed")
    func movedOver() throws {
        try makeStore(store, token: "old")
        let other = "\(directory.path)/other.db"
        try makeStore(other, token: "new")
        let reader = try SQLiteReader(path: store)
        #expect(reader.holdSnapshot(now: 0, maxAge: 10))
        reader.releaseSnapshot()
        #expect(rename(other, store) == 0)
        #expect(!reader.holdSnapshot(now: 20, maxAge: 10))
        let reopened = try SQLiteReader(path: store)
        #expect(reopened.holdSnapshot(now: 0, maxAge: 10))
        #expect(try reopened.token(forKey: key) == "new")
    }

    @Test("a truncated or deleted store is noticed, and cannot be opened")
    func truncatedOrDeleted() throws {
        try makeStore(store, token: "old")
        let reader = try SQLiteReader(path: store)
        #expect(truncate(store, 0) == 0)
        #expect(!reader.holdSnapshot(now: 0, maxAge: 10))
        #expect(throws: StoreError.self) { try SQLiteReader(path: store) }
        unlink(store)
        #expect(!reader.holdSnapshot(now: 20, maxAge: 10))
        #expect(throws: StoreError.self) { try SQLiteReader(path: store) }
    }
}

@Suite("minting budget")
struct MintBudgetTests {
    let directory = TemporaryDirectory()

    @Test("minting stops at the budget of new rows, says so once, and counts only rows added")
    func budget() throws {
        let path = "\(directory.path)/mint.db"
        _ = try SQLiteWriter(path: path)
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let reports = FailureLog()
        let budget = MintBudget(maxNewRows: 2) { reports.append("\($0)") }
        let reader = try SQLiteReader(path: path, minting: .init(minter: minter, budget: budget) { _ in })
        #expect(try reader.mintToken(forKey: "+8613800138001") == minter.token(forKey: "+8613800138001"))
        // The same number again adds no row, so it does not use the budget.
        #expect(try reader.mintToken(forKey: "+8613800138001") != nil)
        #expect(try reader.mintToken(forKey: "+8613800138002") != nil)
        #expect(budget.rowsAdded == 2)
        #expect(try reader.mintToken(forKey: "+8613800138003") == nil)
        #expect(try reader.mintToken(forKey: "+8613800138004") == nil)
        #expect(reports.count == 1)
        #expect(try SQLiteWriter(path: path).count() == 2)
    }

    @Test("minted rows are checkpointed out of the write-ahead log")
    func checkpointed() throws {
        let path = "\(directory.path)/wal.db"
        _ = try SQLiteWriter(path: path)
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let reader = try SQLiteReader(path: path, minting: .init(minter: minter) { _ in })
        for n in 0..<200 { _ = try reader.mintToken(forKey: "+86138001\(String(50000 + n))") }
        var info = stat()
        #expect(stat(path + "-wal", &info) == 0 && info.st_size > 0)
        reader.finishTurn(idle: true)
        #expect(stat(path + "-wal", &info) == 0 && info.st_size == 0)
        #expect(try SQLiteWriter(path: path).count() == 200)
    }
}
