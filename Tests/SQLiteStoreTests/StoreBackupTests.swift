import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("backup")
struct StoreBackupTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    func makeStore() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n", into: store, in: directory)
    }

    @Test("the copy is a token store with the same rows, mode 0640, no temporary file left")
    func copy() throws {
        try makeStore()
        let destination = "\(directory.path)/copy.db"
        let size = try SQLiteInspector(path: store).backup(to: destination)
        #expect(size > 0)
        #expect(StoreTestSupport.mode(destination) == 0o640)
        #expect(
            try StoreTestSupport.exportCSV(destination, in: directory)
                == StoreTestSupport.exportCSV(store, in: directory))
        #expect(try SQLiteReader(path: destination).token(forKey: "+8613800138000") == "a")
        #expect(StoreTestSupport.files(in: directory.path, prefix: "copy.db.tmp-").isEmpty)
        var found = 0
        try StoreVerifier(normaliser: PhoneNumberNormaliser()).run(SQLiteInspector(path: destination)) { _ in found += 1
        }
        #expect(found == 0)
    }

    @Test("a backup made while a writer holds an open transaction has the committed rows only")
    func snapshot() throws {
        try makeStore()
        let writer = try SQLiteWriter(path: store)
        try writer.connection.execute("BEGIN IMMEDIATE")
        try writer.connection.execute("DELETE FROM tokens")
        let destination = "\(directory.path)/copy.db"
        _ = try SQLiteInspector(path: store).backup(to: destination)
        try writer.connection.execute("ROLLBACK")
        #expect(try SQLiteReader(path: destination).token(forKey: "+8613900001111") == "b")
    }

    @Test("an existing destination is refused unless overwrite, and stays untouched")
    func existing() throws {
        try makeStore()
        let destination = directory.write("copy.db", "keep me")
        #expect {
            try SQLiteInspector(path: store).backup(to: destination)
        } throws: { error in
            (error as? OutputError)?.message.contains("already exists") == true
        }
        #expect(try StoreTestSupport.readFile(destination) == "keep me")
        _ = try SQLiteInspector(path: store).backup(to: destination, overwrite: true)
        #expect(try SQLiteReader(path: destination).token(forKey: "+8613800138000") == "a")
    }

    @Test("the store itself is never a destination, even with overwrite")
    func ontoItself() throws {
        try makeStore()
        #expect(throws: OutputError.self) { try SQLiteInspector(path: store).backup(to: store, overwrite: true) }
        #expect(try SQLiteReader(path: store).token(forKey: "+8613800138000") == "a")
    }

    @Test("a missing directory is a clear error")
    func missingDirectory() throws {
        try makeStore()
        #expect(throws: OutputError.self) {
            try SQLiteInspector(path: store).backup(to: "\(directory.path)/no/such/dir/copy.db")
        }
    }
}
