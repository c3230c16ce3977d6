import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("Recording minted tokens in SQLite")
struct MintedTokenRecorderTests {
    let directory = TemporaryDirectory()

    @Test("a minted token is recorded once, and an imported token wins over it")
    func recorded() throws {
        let path = "\(directory.path)/mint.db"
        _ = try SQLiteWriter(path: path)
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let reader = try SQLiteReader(path: path, minting: .init(minter: minter) { _ in })
        let first = try reader.mintToken(forKey: "+8613800138000")
        #expect(try reader.token(forKey: "+8613800138000") == first)
        #expect(try reader.mintToken(forKey: "+8613800138000") == first)
        let writer = try SQLiteWriter(path: path)
        #expect(try writer.count() == 1)
        _ = try writer.put(key: "+8613900001111", token: "crm-1", now: 0)
        #expect(try reader.mintToken(forKey: "+8613900001111") == "crm-1")
    }

    @Test("a store that cannot be written still answers with the derived token and reports why")
    func readOnlyStore() throws {
        let path = "\(directory.path)/ro.db"
        _ = try SQLiteWriter(path: path)
        chmod(path, 0o440)
        defer { chmod(path, 0o640) }
        // root ignores file modes; a missing table is a write failure root cannot bypass.
        try SQLiteConnection(path: path, flags: 2).execute(
            "DROP TABLE tokens; CREATE TABLE tokens(number TEXT PRIMARY KEY, token TEXT NOT NULL) WITHOUT ROWID")
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let failures = FailureLog()
        let reader = try SQLiteReader(path: path, minting: .init(minter: minter) { failures.append("\($0)") })
        #expect(try reader.mintToken(forKey: "+8613800138000") == minter.token(forKey: "+8613800138000"))
        #expect(failures.count == 1)
    }
}

/// Collects failure reports from the minting callback.
final class FailureLog: @unchecked Sendable {
    private var entries: [String] = []
    func append(_ entry: String) { entries.append(entry) }
    var count: Int { entries.count }
}
