import TokenStore

/// The PostgreSQL token store: a shared table that several responders read, on a server with
/// streaming standbys; libpq connection URIs name it (host lists, `target_session_attrs`,
/// `.pgpass`, `PG*` variables, as in psql).
public struct PostgresBackend: StoreBackend {
    /// The libpq connection URI, as given.
    public let uri: String
    /// The store timeout and the application name.
    public let settings: StoreBackendSettings

    /// The store at `uri`.
    public init(uri: String, settings: StoreBackendSettings = StoreBackendSettings()) {
        self.uri = uri
        self.settings = settings
    }

    /// Where the store is (its description masks a password).
    public var location: StoreLocation { .postgres(uri: uri) }

    /// A reader with its own connection, made when it first answers (within that request's
    /// store timeout), so that opening readers at start-up or after SIGHUP never waits for a
    /// host.
    public func openReader(minting: Minting?) throws(StoreError) -> PostgresReader {
        try PostgresReader(backend: self, minting: minting)
    }

    /// Connects once (up to 2 s, or the store timeout if longer) and checks the schema: a
    /// database without the token store's schema is an error at start-up, while a server that
    /// cannot be reached is not (the responder answers `store_unavailable` until a host is back).
    public func checkReadable() throws(StoreError) {
        let reader = try PostgresReader(backend: self, minting: nil)
        try reader.checkSchemaIfConnected(
            deadline: monotonicMicroseconds() + max(settings.storeTimeoutMicroseconds, 2_000_000))
    }

    /// Opens the store for writing; `create` and `schemaWithFirstWrite` change nothing here:
    /// the schema is always created in the first write's transaction.
    public func openWriter(create: Bool, schemaWithFirstWrite: Bool) throws(StoreError) -> any StoreWriter {
        try PostgresWriter(uri: uri, location: location)
    }

    /// Opens the store read-only.
    public func openInspector() throws(StoreError) -> any StoreInspector {
        try PostgresInspector(uri: uri, location: location)
    }
}
