import Testing

@testable import FastCGIServer

@Suite("--socket and --allow-from values")
struct ListenAddressTests {
    @Test(
        "paths and TCP addresses",
        arguments: [
            ("/run/udesk/token.sock", ListenAddress.unix(path: "/run/udesk/token.sock")),
            ("token.sock", .unix(path: "token.sock")),
            ("./a:b.sock", .unix(path: "./a:b.sock")),
            ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)),
            ("localhost:9000", .tcp(host: "localhost", port: 9000)),
            ("[::1]:9000", .tcp(host: "::1", port: 9000)),
        ])
    func parses(text: String, address: ListenAddress) throws {
        #expect(try ListenAddress(text) == address)
    }

    @Test(
        "anything else is refused",
        arguments: ["", "host:", ":9000", "a:b", "[::1]", "[::1]9000", "1.2.3.4:0", "h:65536"])
    func refuses(text: String) {
        #expect(throws: ListeningSocket.Failure.self) { try ListenAddress(text) }
    }

    @Test("allow-lists match addresses and ranges, IPv4 and IPv6, and IPv4-mapped peers")
    func allowList() throws {
        let list = try AllowList("127.0.0.2, 10.1.0.0/16,[::1],fd00::/8")
        #expect(list.allows([127, 0, 0, 2]))
        #expect(!list.allows([127, 0, 0, 1]))
        #expect(list.allows([10, 1, 200, 3]))
        #expect(!list.allows([10, 2, 0, 1]))
        #expect(list.allows([UInt8](repeating: 0, count: 15) + [1]))
        #expect(list.allows([0xFD, 0x12] + [UInt8](repeating: 0, count: 14)))
        #expect(list.allows([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 10, 1, 0, 9]))
        #expect(try AllowList("any").allows([192, 0, 2, 1]))
        for bad in ["", "10.0.0.0/33", "example.com", "::1/129", "any,10.0.0.1"] {
            #expect(throws: ListeningSocket.Failure.self) { try AllowList(bad) }
        }
    }
}
