import Glibc
import Logging
import Testing
@testable import FastCGIServer

@Suite("buffered log lines")
struct LineBufferTests {
    /// A pipe whose read end is non-blocking, so "nothing written yet" reads as empty.
    final class Pipe {
        let readFD: Int32
        let writeFD: Int32
        init() {
            var fds: [Int32] = [0, 0]
            pipe(&fds)
            readFD = fds[0]
            writeFD = fds[1]
            _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        }
        deinit {
            close(readFD)
            close(writeFD)
        }
        func drain() -> String {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    func logger(_ pipe: Pipe, _ buffer: LineBuffer) -> Logger {
        Logger(label: "token-responder") { LineLogHandler(label: $0, fd: pipe.writeFD, buffer: buffer) }
    }

    @Test("info lines wait for a flush, then come out whole and in order")
    func infoWaitsForFlush() {
        let pipe = Pipe()
        let buffer = LineBuffer(fd: pipe.writeFD)
        let log = logger(pipe, buffer)
        log.info("status=200 first")
        log.info("status=404 second")
        #expect(pipe.drain() == "")
        #expect(!buffer.isEmpty)
        buffer.flush()
        let lines = pipe.drain().split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix("info token-responder: status=200 first"))
        #expect(lines[1].hasSuffix("info token-responder: status=404 second"))
        #expect(buffer.isEmpty)
    }

    @Test("a warning writes itself and everything before it at once")
    func warningFlushes() {
        let pipe = Pipe()
        let buffer = LineBuffer(fd: pipe.writeFD)
        let log = logger(pipe, buffer)
        log.info("before")
        log.error("store unreadable")
        let text = pipe.drain()
        #expect(text.contains("info token-responder: before\n"))
        #expect(text.hasSuffix("error token-responder: store unreadable\n"))
        #expect(buffer.isEmpty)
    }

    @Test("a full buffer is written without waiting for a flush")
    func fullBufferWrites() {
        let pipe = Pipe()
        let buffer = LineBuffer(fd: pipe.writeFD)
        let log = logger(pipe, buffer)
        let line = String(repeating: "x", count: 100)
        for _ in 0..<(LineBuffer.limit / 100 + 1) { log.info("\(line)") }
        let written = pipe.drain()
        #expect(written.utf8.count >= LineBuffer.limit)
        #expect(written.hasSuffix("\n"))
    }
}
