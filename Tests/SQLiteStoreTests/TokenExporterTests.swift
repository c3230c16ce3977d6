import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenStore

@Suite("Exporting the store as CSV")
struct TokenExporterTests {
    let directory = TemporaryDirectory()
    var store: String { "\(directory.path)/tokens.db" }

    @Test("header, canonical keys, sorted by key")
    func sortedCanonical() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13900001111,b\n+86 138 0013 8000,a\n010-12345678,c\n", into: store, in: directory)
        let csv = try StoreTestSupport.exportCSV(store, in: directory)
        #expect(csv == "number,customer_token\n+861012345678,c\n+8613800138000,a\n+8613900001111,b\n")
    }

    @Test("an empty store exports the header only")
    func empty() throws {
        _ = try SQLiteWriter(path: store)
        #expect(try StoreTestSupport.exportCSV(store, in: directory) == "number,customer_token\n")
    }

    @Test(
        "fields are quoted only when RFC 4180 needs it",
        arguments: [
            ("plain-token", "plain-token"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("with space", "with space"),
            ("客户-1", "客户-1"),
        ])
    func quoting(token: String, written: String) throws {
        _ = try SQLiteWriter(path: store).put(key: "+8613800138000", token: token)
        let csv = try StoreTestSupport.exportCSV(store, in: directory)
        #expect(csv == "number,customer_token\n+8613800138000,\(written)\n")
    }

    @Test("line breaks inside a token are quoted so the row stays one record")
    func lineBreaks() throws {
        _ = try SQLiteWriter(path: store)
        try StoreTestSupport.execute(
            "INSERT INTO tokens(number, token, updated_at) VALUES('+8613800138000', 'a' || char(10) || 'b', 0)",
            on: store)
        let csv = try StoreTestSupport.exportCSV(store, in: directory)
        #expect(csv == "number,customer_token\n+8613800138000,\"a\nb\"\n")
    }

    @Test("import --replace of an export gives back the same store")
    func roundTrip() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,\"x, \"\"y\"\"\"\n13900001111,b\n+1 415 555 2671,us\n0086 10 1234 5678,bj\n",
            into: store, in: directory)
        let first = try StoreTestSupport.exportCSV(store, in: directory)
        let copy = "\(directory.path)/copy.db"
        try StoreTestSupport.importCSV("number,customer_token\n13700000000,gone\n", into: copy, in: directory)
        let report = try StoreTestSupport.importCSV(
            first, into: copy, in: directory, replace: true, maxRemove: .percent(100))
        #expect(report.committed && report.problems.isEmpty)
        #expect(report.removed == 1)
        #expect(try StoreTestSupport.exportCSV(copy, in: directory) == first)
        // and back onto the original: nothing to do
        let again = try StoreTestSupport.importCSV(first, into: store, in: directory, replace: true)
        #expect(again.added == 0 && again.updated == 0 && again.removed == 0 && again.unchanged == 4)
    }

    @Test("--minted writes minted rows only, with first_seen in ISO-8601 UTC")
    func minted() throws {
        try StoreTestSupport.importCSV(
            "number,customer_token\n13800138000,a\n13900001111,b\n", into: store, in: directory)
        try StoreTestSupport.execute(
            "UPDATE tokens SET minted = 1, updated_at = 1714979289 WHERE number = '+8613900001111'", on: store)
        let csv = try StoreTestSupport.exportCSV(store, in: directory, minted: true)
        #expect(csv == "number,customer_token,first_seen\n+8613900001111,b,2024-05-06T07:08:09Z\n")
    }

    @Test("a store from a newer version is not exported")
    func newerSchema() throws {
        _ = try SQLiteWriter(path: store)
        try StoreTestSupport.execute("PRAGMA user_version = 99", on: store)
        #expect(throws: StoreError.self) { try StoreTestSupport.exportCSV(store, in: directory) }
    }

    @Test("an uncommitted output file leaves the destination untouched and no temporary file")
    func atomicOutput() throws {
        let path = directory.write("out.csv", "previous content\n")
        do {
            let file = try AtomicOutputFile(path: path)
            let output = BufferedOutput(fd: file.fd, name: path)
            try output.write("half an export")
            try output.flush()
            #expect(StoreTestSupport.files(in: directory.path, prefix: "out.csv.tmp-").count == 1)
            #expect(StoreTestSupport.mode(file.temporaryPath) == 0o640)
            // released without commit(): as if the export had failed
        }
        #expect(try StoreTestSupport.readFile(path) == "previous content\n")
        #expect(StoreTestSupport.files(in: directory.path, prefix: "out.csv.tmp-").isEmpty)
    }

    @Test("a committed output file replaces the destination, mode 0640")
    func atomicCommit() throws {
        let path = directory.write("out.csv", "previous content\n")
        let file = try AtomicOutputFile(path: path)
        let output = BufferedOutput(fd: file.fd, name: path)
        for _ in 0..<10_000 { try output.write("0123456789") }  // several chunks
        try output.flush()
        try file.commit()
        #expect(try StoreTestSupport.readFile(path) == String(repeating: "0123456789", count: 10_000))
        #expect(StoreTestSupport.mode(path) == 0o640)
        #expect(StoreTestSupport.files(in: directory.path, prefix: "out.csv.tmp-").isEmpty)
    }
}
