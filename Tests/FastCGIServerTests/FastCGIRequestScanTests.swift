import FastCGIServer
import Testing

@Suite("FastCGI request scan")
struct FastCGIRequestScanTests {
    func record(_ type: UInt8, _ id: UInt16 = 1, _ content: [UInt8] = [], padding: UInt8 = 0) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), padding, 0]
            + content + [UInt8](repeating: 0, count: Int(padding))
    }

    var begin: [UInt8] { record(1, 1, [0, 1, 1, 0, 0, 0, 0, 0]) }
    var params: [UInt8] { record(4, 1, [14, 4] + Array("REQUEST_METHODPOST".utf8)) + record(4, 1) }
    var whole: [UInt8] { begin + params + record(5, 1, Array("{}".utf8), padding: 6) + record(5, 1) }

    func scan(_ bytes: [UInt8], maxBody: Int = 4096) -> FastCGIRequestScan {
        bytes.withUnsafeBytes { FastCGIRequestScan.scan($0, maxBody: maxBody) }
    }

    @Test("a whole request is complete; every shorter prefix is incomplete")
    func prefixes() {
        #expect(scan(whole) == .complete)
        for length in 0..<whole.count {
            #expect(scan(Array(whole.prefix(length))) == .incomplete, "prefix \(length)")
        }
    }

    @Test("more body than the limit is enough to answer (413)")
    func overLimit() {
        let big = begin + params + record(5, 1, [UInt8](repeating: 0x20, count: 100))
        #expect(scan(big, maxBody: 50) == .complete)
        #expect(scan(big, maxBody: 200) == .incomplete)
    }

    @Test(
        "malformed streams are invalid",
        arguments: [
            "overflowing pair", "short pair", "version", "type", "order", "id", "begin length",
        ])
    func malformed(_ name: String) {
        let stream: [UInt8]
        switch name {
        case "overflowing pair":
            stream = begin + record(4, 1, [0xC0, 0, 0, 0, 0xC0, 0, 0, 0, 0x41, 0x41]) + record(4, 1)
        case "short pair": stream = begin + record(4, 1, [5, 9] + Array("NAMEEvalue".utf8)) + record(4, 1)
        case "version": stream = [2] + Array(begin.dropFirst())
        case "type": stream = record(42)
        case "order": stream = record(5, 1, [1])
        case "id": stream = begin + record(4, 2, [1, 1, 0x41, 0x42])
        default: stream = record(1, 1, [0, 1])
        }
        guard case .invalid = scan(stream) else {
            Issue.record("\(name) was not refused")
            return
        }
    }
}
