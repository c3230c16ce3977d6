import Glibc
import Testing

@testable import TokenImport
@testable import TokenStore

@Suite("Import rules, whatever the engine")
struct ImportRulesTests {
    @Test("invalid rows and conflicts are listed together in file order")
    func problemsInFileOrder() throws {
        let store = MemoryStore()
        let report = try importText(
            """
            number,customer_token
            13800138000,a
            13800138001,b
            not a number,c
            +86 138 0013 8000,x
            13800138002,
            138-0013-8001,b
            """, into: store)
        #expect(report.problems.map(\.line) == [4, 5, 6])
        #expect(report.problems[1].reason == "conflict: same number as line 2 with a different token")
        #expect(report.duplicates == 1)
        #expect(!report.committed && store.rows.isEmpty)
    }

    @Test("--skip-invalid stores the valid rows and counts the rest as skipped")
    func skipInvalid() throws {
        let store = MemoryStore()
        let report = try importText("13800138000,a\n13800138000,b\n13800138001,c\nbad,d\n", into: store) {
            $0.skipInvalid = true
        }
        #expect(report.committed)
        #expect(report.skipped == 2 && report.added == 2 && report.unchanged == 0)
        #expect(store.rows["+8613800138000"]?.token == "a")
        #expect(store.lastImport?.source == "-")
    }

    @Test("a second import of the same file changes nothing and says so")
    func unchanged() throws {
        let store = MemoryStore()
        try importText("13800138000,a\n13800138001,b\n", into: store)
        let again = try importText("13800138000,a\n13800138001,b\n13800138001,b\n", into: store)
        #expect(again.added == 0 && again.updated == 0 && again.unchanged == 3 && again.duplicates == 1)
    }

    @Test("--replace counts removals and refuses more than --max-remove")
    func replace() throws {
        let store = MemoryStore()
        try importText((0..<10).map { "1380013800\($0),t\($0)" }.joined(separator: "\n"), into: store)
        let refused = try importText("13800138000,t0\n", into: store) { $0.replace = true }
        #expect(refused.removed == 9 && refused.refusal != nil && !refused.committed)
        #expect(store.rows.count == 10)
        let allowed = try importText("13800138000,new\n", into: store) {
            $0.replace = true
            $0.maxRemove = .percent(100)
        }
        #expect(allowed.committed && allowed.removed == 9 && allowed.updated == 1)
        #expect(
            store.rows == ["+8613800138000": .init(token: "new", updatedAt: store.rows["+8613800138000"]!.updatedAt)])
    }

    @Test("limits parse as counts or percentages")
    func removalLimits() {
        #expect(RemovalLimit("5000") == .rows(5000))
        #expect(RemovalLimit("50%") == .percent(50))
        #expect(RemovalLimit("12.5%") == .percent(12.5))
        #expect(RemovalLimit("101%") == nil)
        #expect(RemovalLimit("-1") == nil)
        #expect(RemovalLimit("half") == nil)
        #expect(RemovalLimit.percent(100).allows(removing: 10, of: 10))
        #expect(!RemovalLimit.percent(50).allows(removing: 6, of: 10))
    }

    @Test("token rules: not empty, at most 255 bytes, no control characters, valid UTF-8")
    func tokenRules() {
        #expect(TokenRules.problem(with: "cust-1") == nil)
        #expect(TokenRules.problem(with: String(repeating: "x", count: TokenRules.maxBytes)) == nil)
        #expect(TokenRules.problem(with: String(repeating: "x", count: TokenRules.maxBytes + 1)) != nil)
        #expect(TokenRules.problem(with: "") == "empty token")
        #expect(TokenRules.problem(with: "a\tb") == "token contains control characters")
        #expect(TokenRules.problem(with: [0x61, 0xFF]) == "token is not valid UTF-8")
    }
}

@Suite("Export and verify, whatever the engine")
struct ExportVerifyRulesTests {
    @Test("export sorts by key bytes and quotes only fields that need it")
    func export() throws {
        let store = MemoryStore()
        store.rows = [
            "+8613900001111": .init(token: #"say "hi", ok"#),
            "+8613800138000": .init(token: "plain"),
            "+861012345678": .init(token: "m", minted: true, updatedAt: 1_714_979_289),
        ]
        #expect(
            try exported(store)
                == "number,customer_token\n+861012345678,m\n+8613800138000,plain\n+8613900001111,\"say \"\"hi\"\", ok\"\n"
        )
        #expect(
            try exported(store, minted: true)
                == "number,customer_token,first_seen\n+861012345678,m,2024-05-06T07:08:09Z\n")
    }

    func exported(_ store: MemoryStore, minted: Bool = false) throws -> String {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        var options = TokenExporter.Options()
        options.mintedOnly = minted
        _ = try TokenExporter(options: options).run(from: store, to: BufferedOutput(fd: fds[1], name: "pipe"))
        close(fds[1])
        defer { close(fds[0]) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        let got = bytes.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        return String(decoding: bytes[0..<max(0, got)], as: UTF8.self)
    }

    @Test("verify reports damage, keys that are not canonical and tokens that break the rules")
    func verify() throws {
        let store = MemoryStore()
        store.rows = [
            "+8613800138000": .init(token: "ok"), "13800138001": .init(token: "a"), "+8613800138002": .init(token: ""),
        ]
        store.damage = ["page 3: btree corrupt"]
        var found: [StoreProblem] = []
        let count = try StoreVerifier(normaliser: .init()).run(store) { found.append($0) }
        #expect(count == 3)
        #expect(found.map(\.kind) == [.integrity, .token, .key])
    }

    @Test("verify stops at a schema it does not know")
    func unknownSchema() throws {
        let store = MemoryStore()
        store.schema = 7
        store.rows = ["bad": .init(token: "")]
        var found: [StoreProblem] = []
        try StoreVerifier(normaliser: .init()).run(store) { found.append($0) }
        #expect(found.map(\.kind) == [.schema])
    }
}
