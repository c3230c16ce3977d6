import Glibc
import Testing

@testable import TokenImport
@testable import TokenStore

@Suite("Column flags: --number-column, --token-column")
struct ImportColumnsTests {
    static let header = ["客户编号", " 姓名 ", "手机号", "座机\u{3000}", "地址"]

    @Test(
        "a name or a position from 1",
        arguments: [
            ("手机号", ColumnReference.name("手机号")), (" 座机 ", .name("座机")), ("3", .position(3)),
            ("12", .position(12)), ("电话1", .name("电话1")),
        ])
    func reference(text: String, expected: ColumnReference) {
        #expect(ColumnReference(text) == expected)
    }

    @Test("an empty name and position 0 are not columns", arguments: ["", "  ", "0", "00"])
    func badReference(text: String) {
        #expect(ColumnReference(text) == nil)
    }

    @Test("names match the trimmed header; positions count from 1; each column once")
    func resolves() throws {
        let columns = ImportColumns(numbers: [.name("手机号"), .name("座机"), .position(3)], token: .position(1))
        let resolved = try columns.resolve(header: Self.header).get()
        #expect(resolved.numbers == [2, 3])
        #expect(resolved.token == 0)
        #expect(resolved.width == 5)
        #expect(resolved.labels == ["手机号", "座机"])
    }

    @Test("a missing name lists the header")
    func missingName() {
        let columns = ImportColumns(numbers: [.name("手机")], token: .name("客户编号"))
        #expect(
            columns.resolve(header: Self.header)
                == .failure(
                    ColumnError("no number column named '手机': the header is: 1 客户编号, 2 姓名, 3 手机号, 4 座机, 5 地址")))
    }

    @Test("a position past the header's end lists the header")
    func missingPosition() {
        let columns = ImportColumns(numbers: [.position(3)], token: .position(9))
        guard case .failure(let error) = columns.resolve(header: Self.header) else {
            Issue.record("resolved")
            return
        }
        #expect(error.description.hasPrefix("token column 9 does not exist: the header is: 1 客户编号"))
    }

    @Test("the same column as number and token, a name twice in the header, a name without a header")
    func otherErrors() {
        #expect(
            ImportColumns(numbers: [.position(1)], token: .name("客户编号")).resolve(header: Self.header)
                == .failure(ColumnError("column 1 ('客户编号') is given as both a number and the token column")))
        #expect(
            ImportColumns(numbers: [.name("电话")], token: .position(1)).resolve(header: ["id", "电话", "电话"])
                == .failure(ColumnError("the header has '电话' in columns 2 and 3: give the number column by position")))
        #expect(
            ImportColumns(numbers: [.name("电话")], token: .position(1)).resolve(header: nil)
                == .failure(ColumnError("number column '电话' needs a header row")))
    }

    @Test("only one flag: the other column is the header's number or customer_token")
    func defaults() throws {
        let onlyNumber = ImportColumns(numbers: [.name("mobile")], token: nil)
        #expect(try onlyNumber.resolve(header: ["mobile", "Customer_Token"]).get().token == 1)
        let onlyToken = ImportColumns(numbers: [], token: .position(2))
        #expect(try onlyToken.resolve(header: ["phone", "id"]).get().numbers == [0])
        guard case .failure(let error) = onlyNumber.resolve(header: ["mobile", "id"]) else {
            Issue.record("resolved")
            return
        }
        #expect(error.description.contains("give --token-column"))
    }
}

@Suite("Importing with column flags")
struct ColumnImportTests {
    @Test("every number column of a row is a number of its customer; empty cells skipped")
    func severalNumberColumns() throws {
        let store = MemoryStore()
        let report = try importText(
            """
            客户编号,姓名,手机号,座机,备注
            C001,"张, 三",13800138000,021-62345678,"line one
            line two"
            C002,李四,,0512-62345678,
            C003,王五,,,
            C004,赵六,13900139000,13900139000,
            """, into: store
        ) {
            $0.columns = ImportColumns(numbers: [.name("手机号"), .name("座机")], token: .name("客户编号"))
        }
        #expect(report.problems == [])
        #expect(report.committed)
        #expect(report.added == 4 && report.withoutNumber == 1 && report.rows == 4)
        #expect(store.rows["+8613800138000"]?.token == "C001")
        #expect(store.rows["+862162345678"]?.token == "C001")
        #expect(store.rows["+8651262345678"]?.token == "C002")
        #expect(store.rows["+8613900139000"]?.token == "C004")
    }

    @Test("problems name the line a record starts on and the column")
    func problemLines() throws {
        let store = MemoryStore()
        let report = try importText(
            """
            id,note,mobile
            A,"two
            lines",not a number
            B,x
            C,"",13800138000
            D,"",13800138000
            """, into: store
        ) {
            $0.columns = ImportColumns(numbers: [.name("mobile")], token: .name("id"))
        }
        #expect(report.problems.map(\.line) == [2, 4, 6])
        #expect(report.problems[0].reason.hasPrefix("invalid number in mobile: "))
        #expect(report.problems[1].reason == "expected 3 columns like the header, found 2")
        #expect(report.problems[2].reason == "conflict: same number as line 5 with a different token")
        #expect(!report.committed && store.rows.isEmpty)
    }

    @Test("a missing column refuses the whole import, and --replace removes nothing")
    func missingColumn() throws {
        let store = MemoryStore()
        _ = try importText("13800138000,a\n", into: store)
        let report = try importText("手机号,客户编号\n13900139000,b\n", into: store) {
            $0.columns = ImportColumns(numbers: [.name("手机")], token: .name("客户编号"))
            $0.replace = true
            $0.maxRemove = .percent(100)
        }
        #expect(report.refusal == "no number column named '手机': the header is: 1 手机号, 2 客户编号")
        #expect(report.removed == 0 && !report.committed)
        #expect(store.rows.keys.sorted() == ["+8613800138000"])
    }

    @Test("positions only: the first row is data when its number column holds a number")
    func positionsWithoutHeader() throws {
        let store = MemoryStore()
        let report = try importText("x,13800138000,a\ny,13900139000,b\n", into: store) {
            $0.columns = ImportColumns(numbers: [.position(2)], token: .position(3))
        }
        #expect(report.added == 2 && report.committed)
        let withHeader = MemoryStore()
        let headed = try importText("name,phone,id\ny,13900139000,b\n", into: withHeader) {
            $0.columns = ImportColumns(numbers: [.position(2)], token: .position(3))
        }
        #expect(headed.added == 1 && headed.rows == 1)
    }

    @Test("--skip-invalid leaves the whole row out")
    func skipInvalidRow() throws {
        let store = MemoryStore()
        let report = try importText("id,m,l\nA,13800138000,bad\nB,13900139000,\n", into: store) {
            $0.columns = ImportColumns(numbers: [.name("m"), .name("l")], token: .name("id"))
            $0.skipInvalid = true
        }
        #expect(report.skipped == 1 && report.added == 1)
        #expect(store.rows.keys.sorted() == ["+8613900139000"])
    }
}

@Suite("Encodings: --encoding utf-8|gb18030|auto")
struct InputDecoderTests {
    /// 客户编号 in GB18030.
    static let gbHeader: [UInt8] = [0xBF, 0xCD, 0xBB, 0xA7, 0xB1, 0xE0, 0xBA, 0xC5]

    func decode(_ bytes: [UInt8], _ encoding: InputEncoding) throws(InputDecoder.DecodingError) -> (
        String, InputEncoding?
    ) {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        defer { close(fds[0]) }
        let decoder = InputDecoder(fd: fds[0], encoding: encoding, prefix: [])
        var out: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 7)  // small: characters cut across blocks
        while true {
            let n = try block.withUnsafeMutableBytes { b in
                Result { () throws(InputDecoder.DecodingError) -> Int in try decoder.read(into: b) }
            }.get()
            if n == 0 { break }
            out += block.prefix(n)
        }
        return (String(decoding: out, as: UTF8.self), decoder.detected)
    }

    @Test("auto: valid UTF-8 stays UTF-8, a BOM is dropped")
    func autoUTF8() throws {
        let (text, detected) = try decode([0xEF, 0xBB, 0xBF] + Array("number,客户编号\r\n1,2\r\n".utf8), .auto)
        #expect(text == "number,客户编号\r\n1,2\r\n")
        #expect(detected == .utf8)
    }

    @Test("auto: not UTF-8 is read as GB18030")
    func autoGB18030() throws {
        let (text, detected) = try decode(Array("id,".utf8) + Self.gbHeader + [0x0A], .auto)
        #expect(text == "id,客户编号\n")
        #expect(detected == .gb18030)
    }

    @Test("auto: ASCII only decides nothing")
    func ascii() throws {
        let (text, detected) = try decode(Array("number,customer_token\n".utf8), .auto)
        #expect(text == "number,customer_token\n" && detected == nil)
    }

    @Test("explicit gb18030 drops a UTF-8 BOM too; explicit utf-8 refuses GB18030, naming the byte")
    func explicit() throws {
        let (text, _) = try decode([0xEF, 0xBB, 0xBF] + Self.gbHeader, .gb18030)
        #expect(text == "客户编号")
        #expect(
            throws: InputDecoder.DecodingError(
                reason: "bytes not valid UTF-8 at byte 4 of the file; give --encoding gb18030 if it is GB18030")
        ) {
            _ = try decode(Array("a\nb\n".utf8) + Self.gbHeader, .utf8)
        }
    }

    @Test("bad bytes refuse the import at the line they are on, counting newlines inside quotes")
    func lineOfBadBytes() throws {
        let text =
            Array("number,customer_token\n13800138000,\"a\nb\"\n13800138001,".utf8) + Self.gbHeader + [0x0A]
        let store = MemoryStore()
        let report = try importBytes(text, into: store) { $0.encoding = .utf8 }
        #expect(report.syntaxError?.line == 4)
        #expect(report.syntaxError?.reason.hasPrefix("bytes not valid UTF-8 at byte 52 of the file") == true)
        #expect(!report.committed && store.rows.isEmpty)
        let gb = try importBytes(text, into: MemoryStore()) { $0.encoding = .gb18030 }
        #expect(gb.syntaxError == nil)
    }

    @Test("a file that ends inside a character is refused")
    func truncated() {
        #expect(throws: InputDecoder.DecodingError.self) {
            _ = try decode(Array("x,".utf8) + [0xE5, 0xAE], .utf8)
        }
    }
}

@Suite("Progress line")
struct ImportProgressLineTests {
    @Test("rows, percent when the size is known, rate")
    func line() {
        #expect(
            ImportProgressLine.text(
                records: 131072, position: 2_500_000, total: 10_000_000, of: "the file", elapsedMicroseconds: 2_000_000)
                == "131072 rows read, 25% of the file, 65536 rows/s")
        #expect(
            ImportProgressLine.text(
                records: 1024, position: 5000, total: nil, of: "the file", elapsedMicroseconds: 1_000_000)
                == "1024 rows read, 1024 rows/s")
    }
}
