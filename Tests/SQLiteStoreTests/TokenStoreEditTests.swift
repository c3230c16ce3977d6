import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("put and delete")
struct TokenStoreEditTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    func token(_ key: String) throws -> String? {
        try SQLiteReader(path: store).token(forKey: key)
    }

    @Test("put reports added, then unchanged, then updated")
    func putOutcomes() throws {
        let writer = try SQLiteWriter(path: store)
        #expect(try writer.put(key: "+8613800138000", token: "a") == .added)
        #expect(try writer.put(key: "+8613800138000", token: "a") == .unchanged)
        #expect(try writer.put(key: "+8613800138000", token: "b") == .updated)
        #expect(try token("+8613800138000") == "b")
        #expect(try writer.count() == 1)
    }

    @Test("put over a minted token makes it an ordinary one")
    func putOverMinted() throws {
        let writer = try SQLiteWriter(path: store)
        _ = try writer.put(key: "+8613800138000", token: "m", now: 100)
        try StoreTestSupport.execute("UPDATE tokens SET minted = 1", on: store)
        #expect(try writer.put(key: "+8613800138000", token: "m", now: 200) == .updated)
        #expect(try StoreTestSupport.exportCSV(store, in: directory, minted: true) == TokenExporter.mintedHeader + "\n")
    }

    @Test("unchanged leaves updated_at alone; a change moves it")
    func updatedAt() throws {
        let writer = try SQLiteWriter(path: store)
        _ = try writer.put(key: "+8613800138000", token: "a", now: 100)
        _ = try writer.put(key: "+8613800138000", token: "a", now: 200)
        try StoreTestSupport.execute("UPDATE tokens SET minted = 1", on: store)
        #expect(try StoreTestSupport.exportCSV(store, in: directory, minted: true).hasSuffix(",1970-01-01T00:01:40Z\n"))
    }

    @Test(
        "put refuses what import refuses",
        arguments: ["", String(repeating: "x", count: 256), "a\u{7}b", "tab\there", "del\u{7F}"])
    func putRefuses(token: String) throws {
        #expect(TokenRules.problem(with: token) != nil)
        let writer = try SQLiteWriter(path: store)
        let error = #expect(throws: StoreError.self) { try writer.put(key: "+8613800138000", token: token) }
        #expect(error?.kind == .invalidToken)
        #expect(try writer.count() == 0)
    }

    @Test("the longest token import accepts is accepted")
    func longestToken() throws {
        let longest = String(repeating: "x", count: TokenRules.maxBytes)
        #expect(TokenRules.problem(with: longest) == nil)
        #expect(try SQLiteWriter(path: store).put(key: "+8613800138000", token: longest) == .added)
    }

    @Test("delete removes one row and reports whether it was there")
    func delete() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n", into: store, in: directory)
        let writer = try SQLiteWriter(path: store)
        #expect(try writer.delete(key: "+8613800138000"))
        #expect(try !writer.delete(key: "+8613800138000"))
        #expect(try token("+8613800138000") == nil)
        #expect(try token("+8613900001111") == "b")
    }

    @Test("a put is a row like any other for the next import --replace")
    func putThenReplace() throws {
        try StoreTestSupport.importCSV("number,customer_token\n13800138000,a\n", into: store, in: directory)
        _ = try SQLiteWriter(path: store).put(key: "+8613900001111", token: "b")
        let report = try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n", into: store, in: directory, replace: true)
        #expect(report.unchanged == 2 && report.added == 0 && report.removed == 0)
    }
}
