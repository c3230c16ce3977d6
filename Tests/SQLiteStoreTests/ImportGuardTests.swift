import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenImport
@testable import TokenStore

/// No import may wipe the store by accident.
@Suite("import guards")
struct ImportGuardTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    func rows(_ count: Int, tag: String = "t") -> String {
        "number,customer_token\n" + (0..<count).map { "1380013\(padded($0, 4)),\(tag)-\($0)\n" }.joined()
    }

    func count() throws -> Int { try SQLiteWriter(path: store).count() }

    @Test("--replace of a header-only file is refused and changes nothing")
    func headerOnly() throws {
        try StoreTestSupport.importCSV(rows(10), into: store, in: directory)
        let report = try StoreTestSupport.importCSV(
            "number,customer_token\n", into: store, in: directory, replace: true)
        #expect(!report.committed)
        #expect(report.refusal?.contains("no data rows") == true)
        #expect(try count() == 10)
        // Even --max-remove 100% does not make an empty file a valid replacement.
        let forced = try StoreTestSupport.importCSV(
            "number,customer_token\n", into: store, in: directory, replace: true, maxRemove: .percent(100))
        #expect(!forced.committed)
        #expect(try count() == 10)
    }

    @Test("a CSV syntax error refuses the import even with --skip-invalid")
    func syntaxErrorIsFatal() throws {
        try StoreTestSupport.importCSV(rows(200), into: store, in: directory)
        var text = rows(200, tag: "new")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        text = lines.enumerated().map { $0.offset == 101 ? $0.element + "\"" : String($0.element) }.joined(
            separator: "\n")
        var options = TokenImporter.Options()
        options.replace = true
        options.skipInvalid = true
        let report = try StoreTestSupport.importCSV(
            text, into: SQLiteWriter(path: store), in: directory, options: options)
        #expect(!report.committed)
        #expect(report.syntaxError?.line == 102)
        #expect(report.isRefused(skipInvalid: true))
        #expect(try count() == 200)
        #expect(try SQLiteReader(path: store).token(forKey: "+8613800130000") == "t-0")
    }

    @Test("--replace removing more than --max-remove is refused; a larger limit allows it")
    func maxRemove() throws {
        try StoreTestSupport.importCSV(rows(10), into: store, in: directory)
        let keepFour = "number,customer_token\n" + (0..<4).map { "1380013\(padded($0, 4)),t-\($0)\n" }.joined()
        let refused = try StoreTestSupport.importCSV(keepFour, into: store, in: directory, replace: true)
        #expect(!refused.committed)
        #expect(refused.removed == 6)
        #expect(refused.refusal?.contains("remove 6 of the store's 10 rows") == true)
        #expect(try count() == 10)
        let byCount = try StoreTestSupport.importCSV(
            keepFour, into: store, in: directory, replace: true, maxRemove: .rows(5))
        #expect(!byCount.committed)
        let allowed = try StoreTestSupport.importCSV(
            keepFour, into: store, in: directory, replace: true, maxRemove: .rows(6))
        #expect(allowed.committed && allowed.removed == 6)
        #expect(try count() == 4)
        // Half of the store is still within the default.
        let half = try StoreTestSupport.importCSV(
            "number,customer_token\n13800130000,t-0\n13800130001,t-1\n", into: store, in: directory, replace: true)
        #expect(half.committed && half.removed == 2)
    }

    @Test("a new store's schema commits with its first rows, never before them")
    func schemaWithRows() throws {
        let writer = try SQLiteWriter(path: store, schemaWithFirstWrite: true)
        // Created but not yet imported into: not a token store for a reader.
        #expect(throws: StoreError.self) { try SQLiteReader(path: store) }
        let report = try StoreTestSupport.importCSV(rows(5), into: writer, in: directory)
        #expect(report.committed && report.added == 5)
        #expect(try SQLiteReader(path: store).token(forKey: "+8613800130004") == "t-4")
    }

    @Test("a failed write leaves no write-ahead log behind")
    func failedWriteEmptiesLog() throws {
        try StoreTestSupport.importCSV(rows(10), into: store, in: directory)
        let writer = try SQLiteWriter(path: store)
        // Let the store grow by a few pages only: the import below fails with SQLITE_FULL.
        let pages = try writer.connection.integer("PRAGMA page_count") ?? 0
        try writer.connection.execute("PRAGMA max_page_count = \(pages + 60)")
        let big =
            "number,customer_token\n"
            + (0..<5000).map { "139\(padded($0, 8)),\(String(repeating: "x", count: 100))-\($0)\n" }.joined()
        // A small cache makes SQLite spill pages into the log before the failure, as a large import does.
        var options = TokenImporter.Options()
        options.cacheKiB = 64
        #expect(throws: StoreError.self) {
            try StoreTestSupport.importCSV(big, into: writer, in: directory, options: options)
        }
        var info = stat()
        #expect(stat(store + "-wal", &info) != 0 || info.st_size == 0)
        #expect(try count() == 10)
    }
}

/// `value` in decimal, zero-padded to `width` digits.
private func padded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
