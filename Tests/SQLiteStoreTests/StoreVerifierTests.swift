import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("verify")
struct StoreVerifierTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    func problems() throws -> [StoreProblem] {
        var found: [StoreProblem] = []
        let count = try StoreVerifier(normaliser: PhoneNumberNormaliser()).run(SQLiteInspector(path: store)) {
            found.append($0)
        }
        #expect(count == found.count)
        return found
    }

    @Test("an imported store has no problems")
    func clean() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n010 1234 5678,b\n+1 415 555 2671,c\n", into: store, in: directory)
        #expect(try problems().isEmpty)
    }

    @Test("a key the normaliser would write differently is reported, masked")
    func nonCanonicalKey() throws {
        _ = try SQLiteWriter(path: store)
        try StoreTestSupport.execute(
            """
            INSERT INTO tokens(number, token, updated_at) VALUES('13800138000', 'a', 0);
            INSERT INTO tokens(number, token, updated_at) VALUES('not a number', 'b', 0);
            INSERT INTO tokens(number, token, updated_at) VALUES('+8613900001111', 'ok', 0);
            """, on: store)
        let found = try problems()
        #expect(found.map(\.kind) == [.key, .key])
        #expect(found.map(\.key) == ["13800138000", "not a number"])
        #expect(
            found[0].description
                == "key 138******00: not canonical: the responder looks this number up under another key")
        #expect(found[0].line(showingKey: true).hasPrefix("key 13800138000: "))
        #expect(found[1].reason.hasPrefix("not a valid number: "))
    }

    @Test("empty, oversized and control-character tokens are reported")
    func badTokens() throws {
        _ = try SQLiteWriter(path: store)
        try StoreTestSupport.execute(
            """
            INSERT INTO tokens(number, token, updated_at) VALUES('+8613800138000', '', 0);
            INSERT INTO tokens(number, token, updated_at) VALUES('+8613900001111', printf('%.300c', 'x'), 0);
            INSERT INTO tokens(number, token, updated_at) VALUES('+8613700000000', 'a' || char(9) || 'b', 0);
            """, on: store)
        let found = try problems()
        #expect(found.map(\.kind) == [.token, .token, .token])
        #expect(
            Set(found.map(\.reason)) == [
                "empty token", "token longer than 255 bytes", "token contains control characters",
            ])
    }

    @Test("a schema version other than the current one is reported")
    func schemaVersion() throws {
        _ = try SQLiteWriter(path: store)
        try StoreTestSupport.execute("PRAGMA user_version = 7", on: store)
        let found = try problems()
        #expect(found == [StoreProblem(kind: .schema, reason: "schema version 7, this binary knows 1")])
    }

    @Test("an empty SQLite file is not a token store")
    func notAStore() throws {
        let path = directory.write("empty.db", "")
        var found: [StoreProblem] = []
        try StoreVerifier(normaliser: PhoneNumberNormaliser()).run(SQLiteInspector(path: path)) { found.append($0) }
        #expect(found.map(\.kind) == [.schema])
    }

    @Test("a damaged file is reported or refused, never read as fine")
    func damaged() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n" + (0..<2000).map { "1380013\(String(1000 + $0)),token-\($0)\n" }.joined(),
            into: store, in: directory)
        // Overwrite the middle of the file (past the header page) with garbage.
        let fd = open(store, O_WRONLY)
        var garbage = [UInt8](repeating: 0xA5, count: 8192)
        _ = garbage.withUnsafeMutableBytes { pwrite(fd, $0.baseAddress, $0.count, 4096 * 3) }
        close(fd)
        do {
            let found = try problems()
            #expect(!found.isEmpty)
        } catch {
            #expect(error is StoreError)
        }
    }

    @Test(
        "keys are masked as the responder's log masks them",
        arguments: [
            ("+8613800138000", "+86138******00"), ("+14155552671", "+1415*****71"), ("12345", "***45"),
        ])
    func masking(key: String, masked: String) {
        #expect(StoreProblem(kind: .key, key: key, reason: "").maskedKey == masked)
    }
}
