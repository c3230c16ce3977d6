import Testing
import TokenCore

@testable import SQLiteStore
@testable import TokenImport
@testable import TokenStore

@Suite("Importing the number forms of CRM exports")
struct ImportNumberFormsTests {
    let directory = TemporaryDirectory()
    var storePath: String { "\(directory.path)/tokens.db" }

    func importText(_ text: String, skipInvalid: Bool = false) throws -> ImportReport {
        var options = TokenImporter.Options()
        options.skipInvalid = skipInvalid
        return try StoreTestSupport.importCSV(
            text, into: SQLiteWriter(path: storePath), in: directory, options: options)
    }

    func token(_ key: String) throws -> String? {
        try SQLiteReader(path: storePath).token(forKey: key)
    }

    @Test("labels, pauses and full-width x are stored under the number; ranges under their first number, and counted")
    func forms() throws {
        let report = try importText(
            """
            number,customer_token
            手机：13687654321,cust-mobile
            "电话: 021-62345678,,801",cust-shanghai
            Tel 0571 8765 4321ｘ9,cust-hangzhou
            0512-6234 5678～9,cust-suzhou
            010-6234 5670~9,cust-beijing

            """)
        #expect(report.added == 5)
        #expect(report.committed)
        #expect(report.ranges == 2)
        #expect(report.rangeLines == [5, 6])
        #expect(try token("+8613687654321") == "cust-mobile")
        #expect(try token("+862162345678") == "cust-shanghai")
        #expect(try token("+8657187654321") == "cust-hangzhou")
        #expect(try token("+8651262345678") == "cust-suzhou")
        #expect(try token("+8651262345679") == nil)
        #expect(try token("+861062345670") == "cust-beijing")
    }

    @Test("numbers that cannot be dialled refuse the import, each with its line")
    func invalidNumbersNamed() throws {
        let report = try importText(
            """
            number,customer_token
            13687654321,cust-ok
            852 6234 5678,cust-a
            (02) 2345-6789,cust-b
            0755-6234567,cust-c
            15412345678,cust-d
            +86 26 6234 5678,cust-e

            """)
        #expect(!report.committed)
        #expect(report.problems.map(\.line) == [3, 4, 5, 6, 7])
        #expect(report.problems.allSatisfy { $0.reason.hasPrefix("invalid number: ") })
        #expect(!report.problems.contains { $0.reason.contains("6234") || $0.reason.contains("154") })
        #expect(try token("+8613687654321") == nil)
    }

    @Test("with --skip-invalid they are skipped and listed; a skipped range is not counted as a range")
    func invalidNumbersSkipped() throws {
        let report = try importText(
            "13687654321,cust-ok\n0755-6234567～8,cust-c\n0512-6234 5678～9,cust-suzhou\n", skipInvalid: true)
        #expect(report.committed)
        #expect(report.added == 2)
        #expect(report.skipped == 1)
        #expect(report.problems.map(\.line) == [2])
        #expect(report.ranges == 1)
        #expect(report.rangeLines == [3])
    }

    @Test("the report keeps the lines of the first ranges only, and counts them all")
    func manyRanges() throws {
        var text = ""
        for index in 0..<(TokenImporter.listedRanges + 5) {
            text += "0512-6234 \(1000 + index * 10)～9,cust-\(index)\n"
        }
        let report = try importText(text)
        #expect(report.ranges == TokenImporter.listedRanges + 5)
        #expect(report.rangeLines == Array(1...TokenImporter.listedRanges))
    }
}
