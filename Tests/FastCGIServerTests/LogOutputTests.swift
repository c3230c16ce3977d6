import CFastCGI
import Glibc
import Logging
import Testing

@testable import FastCGIServer

@Suite("Where log lines go: journald priorities, the log file and its reopening")
struct LogOutputTests {
    @Test(
        "each level's syslog priority",
        arguments: [
            (Logger.Level.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"), (.warning, "<4>"),
            (.error, "<3>"), (.critical, "<2>"),
        ])
    func priorities(level: Logger.Level, prefix: String) {
        let line = LineLogHandler.line(stamp: "S", level: level, label: "l", message: "m", priority: true)
        #expect(String(decoding: line, as: UTF8.self) == "\(prefix)S \(level.rawValue) l: m\n")
        let plain = LineLogHandler.line(stamp: "S", level: level, label: "l", message: "m")
        #expect(String(decoding: plain, as: UTF8.self) == "S \(level.rawValue) l: m\n")
    }

    @Test("JOURNAL_STREAM counts only when it names the descriptor's device and inode")
    func journalStream() throws {
        let pipe = TestPipe()
        var info = stat()
        #expect(fstat(pipe.writeFD, &info) == 0)
        #expect(LogOutput.isStream("\(info.st_dev):\(info.st_ino)", fd: pipe.writeFD))
        #expect(!LogOutput.isStream("\(info.st_dev):\(info.st_ino + 1)", fd: pipe.writeFD))
        #expect(!LogOutput.isStream("\(info.st_dev)", fd: pipe.writeFD))
        #expect(!LogOutput.isStream("x:y", fd: pipe.writeFD))
        #expect(!LogOutput.standardError(journalStream: nil).priorities)
    }

    @Test("a log file is appended to, and a reopen puts the file now at the path on the same descriptor")
    func reopen() throws {
        let directory = "/tmp/token-logoutput-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
        defer {
            unlink(directory + "/a.log")
            unlink(directory + "/a.log.1")
            rmdir(directory)
        }
        let path = directory + "/a.log"
        try write("old\n", to: path)
        let output = try LogOutput.file(path)
        #expect(!output.priorities && output.path == path)
        FileDescriptorWritingShim.write("one\n", to: output.fd)
        rename(path, path + ".1")
        FileDescriptorWritingShim.write("two\n", to: output.fd)
        #expect(output.reopen() == nil)
        FileDescriptorWritingShim.write("three\n", to: output.fd)
        #expect(try read(path + ".1") == "old\none\ntwo\n")
        #expect(try read(path) == "three\n")
        unlink(path)
        mkdir(path, 0o700)  // nothing can be opened for appending at the path now
        defer { rmdir(path) }
        #expect(output.reopen() == "cannot open the log file \(path) for appending: Is a directory")
        FileDescriptorWritingShim.write("four\n", to: output.fd)  // still the previous file: not lost
        #expect(try read(path + ".1") == "old\none\ntwo\n")
    }

    @Test("a path that cannot be opened says why")
    func unopenable() {
        #expect(throws: LogFileError.self) { try LogOutput.file("/nonexistent-dir/x.log") }
        do {
            _ = try LogOutput.file("/tmp")
            Issue.record("a directory was opened as a log file")
        } catch {
            #expect(error.description == "cannot open the log file /tmp for appending: Is a directory")
        }
    }

    @Test("the listening socket's backlog: connections no one has accepted yet")
    func backlog() {
        let path = "/tmp/token-backlog-\(getpid()).sock"
        unlink(path)
        defer { unlink(path) }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        #expect(
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) }
            } == 0)
        #expect(listen(listener, 16) == 0)
        #expect(token_listen_backlog(listener) == 0)
        var clients: [Int32] = []
        for _ in 0..<3 {
            let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, size) }
            }
            clients.append(client)
        }
        #expect(token_listen_backlog(listener) == 3)
        close(accept(listener, nil, nil))
        #expect(token_listen_backlog(listener) == 2)
        for client in clients { close(client) }
        #expect(token_listen_backlog(-1) == -1)
    }

    private func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        FileDescriptorWritingShim.write(text, to: fd)
        close(fd)
    }

    private func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return String(decoding: readAll(fd, limit: .max), as: UTF8.self)
    }
}

/// One write(2) of `text`.
enum FileDescriptorWritingShim {
    static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

@Suite("Finding REQUEST_ID among the FastCGI parameters")
struct FindParameterTests {
    /// `body` with a NULL-terminated array of `entries` as libfcgi keeps them (`NAME=value`).
    func withParameters<T>(_ entries: [String], _ body: (FCGX_ParamArray) -> T) -> T {
        let copies = entries.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var array: [UnsafeMutablePointer<CChar>?] = copies + [nil]
        return array.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    func find(_ name: String, in entries: [String]) -> String? {
        withParameters(entries) { envp in
            token_fcgx_find_param(name, name.utf8.count, envp).map { String(cString: $0) }
        }
    }

    @Test("the value after NAME=, the first of several, nil when absent or only a prefix matches")
    func find() {
        let entries = [
            "REQUEST_METHOD=POST", "REQUEST=x", "R=", "REQUEST_ID_X=no", "REQUEST_ID=abc", "REQUEST_ID=second",
        ]
        #expect(find("REQUEST_ID", in: entries) == "abc")
        #expect(find("REQUEST_ID", in: ["REQUEST_METHOD=POST"]) == nil)
        #expect(find("REQUEST_ID", in: ["REQUEST_ID="]) == "")
        #expect(find("R", in: entries) == "")
        #expect(find("REQUEST_ID", in: []) == nil)
        #expect(token_fcgx_find_param("REQUEST_ID", 10, nil) == nil)
    }
}
