import Crypto

/// Derives a customer token from a canonical number with a secret key, so every node holding
/// the same key mints the same token for the same number without coordination.
///
/// Format: `mt1_` followed by the first 16 bytes (128 bits) of HMAC-SHA256(key, canonical
/// number) in unpadded base64url: 26 URL-safe characters, e.g. `mt1_q9Xz…`. The prefix says
/// "minted, scheme 1"; a different key gives unrelated tokens, and the number cannot be
/// recovered from a token without the key.
public struct TokenMinter: Sendable {
    /// The prefix of every minted token.
    public static let prefix = "mt1_"
    /// Shortest accepted key, in bytes.
    public static let minimumKeyBytes = 16

    // Raw bytes rather than a SymmetricKey: this version of swift-crypto does not mark
    // SymmetricKey Sendable, and minting is rare enough to build the key per call.
    private let keyBytes: [UInt8]

    /// Creates a minter from raw key bytes.
    public init(keyBytes: [UInt8]) {
        self.keyBytes = keyBytes
    }

    /// The token for canonical key `number`.
    public func token(forKey number: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(number.utf8), using: SymmetricKey(data: keyBytes))
        return Self.prefix + Self.base64URL(Array(mac).prefix(16))
    }

    static func base64URL(_ bytes: ArraySlice<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 0x3F)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(6 - bits)) & 0x3F)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
