import Testing

@testable import TokenStore

@Suite("Store locations")
struct StoreLocationTests {
    @Test("postgresql:// and postgres:// are PostgreSQL; anything else is a SQLite path")
    func kinds() {
        #expect(StoreLocation("postgresql://db/tokens") == .postgres(uri: "postgresql://db/tokens"))
        #expect(StoreLocation("postgres://db/tokens") == .postgres(uri: "postgres://db/tokens"))
        #expect(StoreLocation("/var/lib/udesk-token/tokens.db") == .sqlite(path: "/var/lib/udesk-token/tokens.db"))
        #expect(StoreLocation("postgresql.db") == .sqlite(path: "postgresql.db"))
        #expect(StoreLocation("") == nil)
    }

    @Test(
        "a password in the URI is never shown",
        arguments: [
            (
                "postgresql://udesk:s3cret@db1,db2/tokens?sslmode=require",
                "postgresql://udesk:***@db1,db2/tokens?sslmode=require"
            ),
            ("postgres://udesk:s3cret@db/tokens", "postgres://udesk:***@db/tokens"),
            (
                "postgresql://db/tokens?user=udesk&password=s3cret&sslmode=require",
                "postgresql://db/tokens?user=udesk&password=***&sslmode=require"
            ),
            ("postgresql://udesk@db/tokens", "postgresql://udesk@db/tokens"),
            ("postgresql://u:p%40ss@db/t", "postgresql://u:***@db/t"),
        ])
    func masked(uri: String, shown: String) {
        #expect(StoreLocation(uri)!.description == shown)
        #expect(!StoreLocation(uri)!.description.contains("s3cret"))
    }

    @Test("--store wins over TOKEN_STORE; neither is an error naming both")
    func resolve() throws {
        #expect(try StoreLocation.resolve(flag: "a.db", environment: "b.db") == .sqlite(path: "a.db"))
        #expect(try StoreLocation.resolve(flag: "", environment: "b.db") == .sqlite(path: "b.db"))
        #expect(throws: StoreLocationError.self) { try StoreLocation.resolve(flag: nil, environment: "") }
    }
}
