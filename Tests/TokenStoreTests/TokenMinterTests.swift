import Glibc
import Testing
import TokenCore
@testable import TokenStore

@Suite("Minting tokens")
struct TokenMinterTests {
    let directory = TemporaryDirectory()

    @Test("tokens are derived: same key and number, same token; URL-safe with the prefix")
    func derived() {
        let a = TokenMinter(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))
        let b = TokenMinter(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))
        let other = TokenMinter(keyBytes: Array("another key of at least 16 bytes".utf8))
        let token = a.token(forKey: "+8613800138000")
        #expect(token == b.token(forKey: "+8613800138000"))
        #expect(token != a.token(forKey: "+8613800138001"))
        #expect(token != other.token(forKey: "+8613800138000"))
        #expect(token.hasPrefix("mt1_"))
        #expect(token.utf8.count == 26)
        #expect(token.utf8.dropFirst(4).allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        })
    }

    @Test("base64url matches RFC 4648 test vectors")
    func base64URL() {
        #expect(TokenMinter.base64URL(Array("foobar".utf8)[...]) == "Zm9vYmFy")
        #expect(TokenMinter.base64URL(Array("fo".utf8)[...]) == "Zm8")
        #expect(TokenMinter.base64URL([0xFB, 0xFF][...]) == "-_8")
    }

    @Test("a minted token is recorded once, and an imported token wins over it")
    func recorded() throws {
        let path = "\(directory.path)/mint.db"
        _ = try TokenStoreWriter(path: path)
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let reader = try TokenStoreReader(path: path, minting: .init(minter: minter) { _ in })
        let first = try reader.mintToken(forKey: "+8613800138000")
        #expect(try reader.token(forKey: "+8613800138000") == first)
        #expect(try reader.mintToken(forKey: "+8613800138000") == first)
        let writer = try TokenStoreWriter(path: path)
        #expect(try writer.count() == 1)
        let upsert = try writer.makeUpsert()
        _ = try writer.transaction { () throws(StoreError) in
            try upsert(key: "+8613900001111", token: "crm-1", now: 0, generation: 1, line: 1)
        }
        #expect(try reader.mintToken(forKey: "+8613900001111") == "crm-1")
    }

    @Test("a store that cannot be written still answers with the derived token and reports why")
    func readOnlyStore() throws {
        let path = "\(directory.path)/ro.db"
        _ = try TokenStoreWriter(path: path)
        chmod(path, 0o440)
        defer { chmod(path, 0o640) }
        // root ignores file modes; a missing table is a write failure root cannot bypass.
        try SQLiteConnection(path: path, flags: 2).execute("DROP TABLE tokens; CREATE TABLE tokens(number TEXT PRIMARY KEY, token TEXT NOT NULL) WITHOUT ROWID")
        let minter = TokenMinter(keyBytes: Array("0123456789abcdef".utf8))
        let failures = FailureLog()
        let reader = try TokenStoreReader(path: path, minting: .init(minter: minter) { failures.append("\($0)") })
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
