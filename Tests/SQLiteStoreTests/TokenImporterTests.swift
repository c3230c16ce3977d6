import CSQLite
import Glibc
import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenImport
@testable import TokenStore

@Suite("Importing CSV into the store")
struct TokenImporterTests {
    let directory = TemporaryDirectory()
    var storePath: String { "\(directory.path)/tokens.db" }

    func importText(
        _ text: String, replace: Bool = false, dryRun: Bool = false, skipInvalid: Bool = false
    ) throws -> ImportReport {
        var options = TokenImporter.Options()
        options.replace = replace
        options.dryRun = dryRun
        options.skipInvalid = skipInvalid
        return try StoreTestSupport.importCSV(
            text, into: SQLiteWriter(path: storePath), in: directory, options: options)
    }

    func token(_ number: String) throws -> String? {
        let key = try PhoneNumberNormaliser().normalise(number).key
        return try SQLiteReader(path: storePath).token(forKey: key)
    }

    @Test("rows are normalised and readable by the responder's reader")
    func basicImport() throws {
        let report = try importText("number,customer_token\n13800138000,cust-1\n+86 139 0000 1111,cust-2\n")
        #expect(report.added == 2)
        #expect(report.committed)
        #expect(try token("+8613800138000") == "cust-1")
        #expect(try token("13900001111") == "cust-2")
        #expect(try token("13700000000") == nil)
    }

    @Test("the store file is created without world access")
    func fileMode() throws {
        _ = try importText("13800138000,cust-1\n")
        var info = stat()
        #expect(stat(storePath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
    }

    @Test("BOM, CRLF, quotes and a file without a header")
    func csvDialects() throws {
        let report = try importText("\u{FEFF}\"13800138000\",\"cust \"\"one\"\", ok\"\r\n13900001111,cust-2\r\n")
        #expect(report.added == 2)
        #expect(try token("13800138000") == "cust \"one\", ok")
    }

    @Test("tab-separated files are recognised")
    func tsv() throws {
        let report = try importText("number\tcustomer_token\n13800138000\tcust-1\n")
        #expect(report.added == 1)
        #expect(try token("13800138000") == "cust-1")
    }

    @Test("merging counts added, updated and unchanged rows")
    func merge() throws {
        _ = try importText("number,customer_token\n13800138000,a\n13900001111,b\n")
        let report = try importText("number,customer_token\n13800138000,a\n13900001111,B\n13700000000,c\n")
        #expect(report.added == 1)
        #expect(report.updated == 1)
        #expect(report.unchanged == 1)
        #expect(try token("13900001111") == "B")
    }

    @Test("--replace removes numbers missing from the file")
    func replace() throws {
        _ = try importText("number,customer_token\n13800138000,a\n13900001111,b\n")
        let report = try importText("number,customer_token\n13800138000,a\n", replace: true)
        #expect(report.removed == 1)
        #expect(try token("13900001111") == nil)
        #expect(try token("13800138000") == "a")
    }

    @Test("one bad row refuses the whole import and every bad line is listed")
    func allOrNothing() throws {
        _ = try importText("number,customer_token\n13800138000,old\n")
        let report = try importText(
            "number,customer_token\n13800138000,new\nnot-a-number,x\n13900001111,\n13700000000,a,b\n")
        #expect(!report.committed)
        #expect(report.problems.map(\.line) == [3, 4, 5])
        #expect(try token("13800138000") == "old")
    }

    @Test("two rows for the same customer with different tokens conflict")
    func conflicts() throws {
        let report = try importText("number,customer_token\n13800138000,a\n+86 138 0013 8000,b\n013800138000,a\n")
        #expect(!report.committed)
        #expect(
            report.problems == [
                ImportProblem(line: 3, reason: "conflict: same number as line 2 with a different token")
            ])
    }

    @Test("--skip-invalid imports the good rows")
    func skipInvalid() throws {
        let report = try importText("number,customer_token\n13800138000,a\nnope,b\n", skipInvalid: true)
        #expect(report.committed)
        #expect(report.skipped == 1)
        #expect(try token("13800138000") == "a")
    }

    @Test("--dry-run changes nothing")
    func dryRun() throws {
        let report = try importText("number,customer_token\n13800138000,a\n", dryRun: true)
        #expect(report.added == 1)
        #expect(!report.committed)
        #expect(try token("13800138000") == nil)
    }

    @Test("control characters and oversized tokens are refused")
    func tokenRules() throws {
        let long = String(repeating: "x", count: 256)
        let report = try importText("number,customer_token\n13800138000,a\u{7}b\n13900001111,\(long)\n")
        #expect(report.problems.map(\.line) == [2, 3])
    }
}

@Suite("Opening the store")
struct TokenStoreOpenTests {
    let directory = TemporaryDirectory()

    @Test("a missing store cannot be opened for reading")
    func missing() {
        #expect(throws: StoreError.self) { try SQLiteReader(path: "\(directory.path)/none.db") }
    }

    @Test("an empty SQLite file is not a token store")
    func notAStore() {
        let path = directory.write("empty.db", "")
        #expect {
            try SQLiteReader(path: path)
        } throws: { error in
            (error as? StoreError)?.kind == .incompatibleSchema
        }
    }

    @Test("a store from a newer version is refused with a clear message")
    func newerSchema() throws {
        let path = "\(directory.path)/new.db"
        _ = try SQLiteWriter(path: path)
        try SQLiteConnection(path: path, flags: SQLITE_OPEN_READWRITE).execute("PRAGMA user_version = 99")
        #expect {
            try SQLiteReader(path: path)
        } throws: { error in
            (error as? StoreError)?.message.contains("newer") == true
        }
        #expect(throws: StoreError.self) { try SQLiteWriter(path: path) }
    }

    @Test("a committed change is seen by an open reader's next lookup")
    func liveReads() throws {
        let path = "\(directory.path)/live.db"
        let writer = try SQLiteWriter(path: path)
        let reader = try SQLiteReader(path: path)
        #expect(try reader.token(forKey: "+8613800138000") == nil)
        _ = try writer.put(key: "+8613800138000", token: "t", now: 0)
        #expect(try reader.token(forKey: "+8613800138000") == "t")
    }
}
