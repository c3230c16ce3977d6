import Testing

@testable import WorkbookReader

@Suite("Number cells read back as digits")
struct SpreadsheetNumberTests {
    @Test(
        "exact whole numbers give their digits",
        arguments: [
            ("13800138000", "13800138000"), ("13800138000.0", "13800138000"), ("1.3800138E+10", nil),
            ("1.3800138000E+10", "13800138000"), ("2162345678", "2162345678"), ("10001", "10001"), ("0", "0"),
            ("123456789012345", "123456789012345"), ("1.5E+1", "15"), ("1.0E+2", nil),
        ] as [(String, String?)])
    func digits(stored: String, expected: String?) {
        switch SpreadsheetNumber.digits(stored) {
        case .success(let digits): #expect(digits == expected)
        case .failure(let refusal): #expect(expected == nil, "\(stored): \(refusal)")
        }
    }

    @Test(
        "lost digits, fractions and the rest are refused, saying to format the column as text",
        arguments: [
            ("1.38001E+10", SpreadsheetNumber.Refusal.lostDigits), ("8613800138000123", .tooManyDigits),
            ("1.380013800012345E+15", .tooManyDigits), ("13800138000.5", .fraction), ("-13800138000", .negative),
            ("abc", .notANumber), ("1E+999", .notANumber),
        ])
    func refused(stored: String, refusal: SpreadsheetNumber.Refusal) {
        #expect(SpreadsheetNumber.digits(stored) == .failure(refusal))
        #expect(refusal.description.contains("format the column as text"))
    }
}

@Suite("Formats told from the first bytes")
struct FileFormatTests {
    @Test("text, zip, and refused formats by name")
    func sniff() {
        #expect(FileFormat.sniff(Array("number,customer_token\n".utf8)) == .text)
        #expect(FileFormat.sniff([0xEF, 0xBB, 0xBF] + Array("手机号".utf8)) == .text)
        #expect(FileFormat.sniff([0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0]) == .zip)
        guard case .refused(let xls) = FileFormat.sniff([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]) else {
            Issue.record("not refused")
            return
        }
        #expect(xls.contains(".xls") && xls.contains("CSV UTF-8") && xls.contains(".xlsx"))
        guard case .refused(let utf16) = FileFormat.sniff([0xFF, 0xFE, 0x31, 0x00]) else {
            Issue.record("not refused")
            return
        }
        #expect(utf16.contains("UTF-16"))
    }

    @Test("zip archives: xlsx, or refused naming what they are")
    func zips() {
        #expect(FileFormat.classifyZip(entries: ["[Content_Types].xml", "xl/workbook.xml"], mimetype: nil) == .xlsx)
        let cases: [([String], String?, String)] = [
            (["xl/workbook.bin"], nil, ".xlsb"),
            (["mimetype", "content.xml"], "application/vnd.oasis.opendocument.spreadsheet", ".ods"),
            (["Index/Document.iwa"], nil, ".numbers"),
            (["word/document.xml"], nil, ".docx"),
            (["a.txt"], nil, "not an Excel workbook"),
        ]
        for (entries, mimetype, name) in cases {
            guard case .refused(let why) = FileFormat.classifyZip(entries: entries, mimetype: mimetype) else {
                Issue.record("\(entries) not refused")
                continue
            }
            #expect(why.contains(name), "\(why)")
        }
    }
}
