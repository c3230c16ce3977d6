import FastCGIServer
import Glibc
import Testing

@Suite("secret files")
struct SecretFileTests {
    func write(_ bytes: [UInt8]) -> String {
        var template = Array("/tmp/secret-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return String(cString: template)
    }

    @Test("a binary key is read as its bytes, not decoded as text")
    func binaryKey() throws {
        let key: [UInt8] = [
            0xFF, 0xFE, 0x00, 0x80, 0xC3, 0x28, 0x41, 0x9F, 0xE2, 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        ]
        let path = write(key + [0x0A])
        defer { unlink(path) }
        #expect(try SecretFile.readBytes(path) == key)
    }

    @Test("surrounding whitespace is dropped, inner bytes kept; an empty file is refused")
    func whitespace() throws {
        let path = write(Array(" \tsecret key\r\n".utf8))
        defer { unlink(path) }
        #expect(try SecretFile.readBytes(path) == Array("secret key".utf8))
        #expect(try SecretFile.read(path) == "secret key")
        let empty = write(Array(" \n".utf8))
        defer { unlink(empty) }
        #expect(throws: SecretFile.Failure.self) { try SecretFile.readBytes(empty) }
    }
}
