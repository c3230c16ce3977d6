import Testing

@testable import TokenStore

@Suite("Minting tokens")
struct TokenMinterTests {
    @Test("tokens are derived: same key and number, same token; URL-safe with the prefix")
    func derived() {
        let a = TokenMinter(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))
        let b = TokenMinter(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))
        let other = TokenMinter(keyBytes: Array("another key of at least 16 bytes".utf8))
        let token = a.token(forKey: "+8613800138000")
        #expect(token == b.token(forKey: "+8613800138000"))
        #expect(token != a.token(forKey: "+8613800138001"))
        #expect(token != other.token(forKey: "+8613800138000"))
        #expect(token.hasPrefix("mt1_"))
        #expect(token.utf8.count == 26)
        #expect(
            token.utf8.dropFirst(4).allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            })
    }

    @Test("base64url matches RFC 4648 test vectors")
    func base64URL() {
        #expect(TokenMinter.base64URL(Array("foobar".utf8)[...]) == "Zm9vYmFy")
        #expect(TokenMinter.base64URL(Array("fo".utf8)[...]) == "Zm8")
        #expect(TokenMinter.base64URL([0xFB, 0xFF][...]) == "-_8")
    }
}
