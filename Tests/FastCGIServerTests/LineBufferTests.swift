import Glibc
import Logging
import Testing

@testable import FastCGIServer

/// A pipe whose read end is non-blocking, so "nothing written yet" reads as empty.
final class TestPipe {
    let readFD: Int32
    let writeFD: Int32
    private var received: [UInt8] = []

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

    /// Everything written so far (the non-blocking read end makes `readAll` stop at what is there).
    func text() -> String {
        received += readAll(readFD, limit: .max)
        return String(decoding: received, as: UTF8.self)
    }

    /// Everything written once `done` holds for it, or what came within `seconds`.
    func text(within seconds: Double = 5, until done: (String) -> Bool) -> String {
        let deadline = time(nil) + time_t(seconds.rounded(.up))
        var current = text()
        while !done(current) && time(nil) <= deadline {
            usleep(2_000)
            current = text()
        }
        return current
    }
}

@Suite("buffered log lines")
struct LineBufferTests {
    /// A worker's logging set-up, writing into a pipe.
    struct Setup {
        let pipe = TestPipe()
        let buffer: LineBuffer
        let log: Logger

        init() {
            let writer = LogWriter(fd: pipe.writeFD)
            let buffer = LineBuffer(writer: writer)
            self.buffer = buffer
            log = ResponderLogging.makeLogger(level: .info, writer: writer, buffer: buffer)
        }
    }

    @Test("info lines wait for a flush, then come out whole and in order")
    func infoWaitsForFlush() {
        let setup = Setup()
        let (pipe, buffer, log) = (setup.pipe, setup.buffer, setup.log)
        log.info("status=200 first")
        log.info("status=404 second")
        #expect(!buffer.isEmpty)
        buffer.flush()
        #expect(buffer.isEmpty)
        let lines = pipe.text { $0.hasSuffix("second\n") }.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasSuffix("info token-responder: status=200 first") == true)
        #expect(lines.last?.hasSuffix("info token-responder: status=404 second") == true)
    }

    @Test("a warning goes out at once, with everything before it")
    func warningFlushes() {
        let setup = Setup()
        let (pipe, buffer, log) = (setup.pipe, setup.buffer, setup.log)
        log.info("before")
        log.error("store unreadable")
        let text = pipe.text { $0.hasSuffix("unreadable\n") }
        #expect(text.contains("info token-responder: before\n"))
        #expect(text.hasSuffix("error token-responder: store unreadable\n"))
        #expect(buffer.isEmpty)
    }

    @Test("a full buffer is handed over without waiting for a flush")
    func fullBufferWrites() {
        let setup = Setup()
        let (pipe, log) = (setup.pipe, setup.log)
        let line = String(repeating: "x", count: 100)
        for _ in 0..<(LineBuffer.limit / 100 + 1) { log.info("\(line)") }
        let written = pipe.text { $0.utf8.count >= LineBuffer.limit }
        #expect(written.utf8.count >= LineBuffer.limit)
        #expect(written.hasSuffix("\n"))
    }
}

@Suite("log writer")
struct LogWriterTests {
    @Test("a stderr that takes nothing never blocks the caller; dropped lines are counted")
    func stuckStderrDrops() {
        let pipe = TestPipe()
        // Fill the pipe so the writer thread's next write blocks until the test reads.
        let filler = [UInt8](repeating: 0x2E, count: 4096)
        _ = fcntl(pipe.writeFD, F_SETFL, fcntl(pipe.writeFD, F_GETFL) | O_NONBLOCK)
        var filled = 0
        while true {
            let n = filler.withUnsafeBytes { write(pipe.writeFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            filled += n
        }
        _ = fcntl(pipe.writeFD, F_SETFL, fcntl(pipe.writeFD, F_GETFL) & ~O_NONBLOCK)
        let writer = LogWriter(fd: pipe.writeFD)
        let line = Array((String(repeating: "y", count: 99) + "\n").utf8)
        let count = 2 * LogWriter.capacity / line.count + 5_000  // the writer may hold one queue-full while blocked
        let started = time(nil)
        for _ in 0..<count { writer.submit(line) }
        #expect(time(nil) - started <= 1)
        var text = pipe.text(within: 10) { $0.contains("log lines dropped") }
        while true {  // then until the writer has nothing more to say
            usleep(300_000)
            let more = pipe.text()
            if more == text { break }
            text = more
        }
        #expect(text.contains("warning token-responder: "))
        let dropped: Int? = text.split(separator: "\n").filter { $0.contains("log lines dropped") }
            .compactMap { $0.split(separator: " ").dropFirst(3).first.flatMap { Int($0) } }
            .reduce(0, +)
        // Every line is either written or counted: the queue held what fitted, the rest was dropped.
        let written = text.split(separator: "\n").filter { $0.contains("yyy") }.count
        #expect((dropped ?? 0) > 0)
        #expect(written + (dropped ?? 0) == count)
        #expect(writer.droppedLines == dropped, "the metrics' total is the sum of the warnings")
        // Lines are dropped or written whole: after the filler comes nothing but whole lines and
        // the warning, never a part of a line.
        #expect(text.utf8.prefix(filled).allSatisfy { $0 == UInt8(ascii: ".") })
        let after = text.utf8.dropFirst(filled).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        let warning = "log lines dropped: stderr was not taking them"
        #expect(
            after.allSatisfy {
                $0.elementsEqual(line.dropLast()) || String(decoding: $0, as: UTF8.self).hasSuffix(warning)
            })
        #expect(text.hasSuffix("\n"))
    }

    @Test("finish writes what is queued and returns")
    func finishDrains() {
        let pipe = TestPipe()
        let writer = LogWriter(fd: pipe.writeFD)
        writer.submit(Array("one\ntwo\n".utf8))
        writer.finish()
        #expect(pipe.text() == "one\ntwo\n")
    }
}
