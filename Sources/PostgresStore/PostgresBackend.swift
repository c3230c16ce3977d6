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

    /// A reader with its own connection. Connecting is tried at once (up to the store timeout,
    /// the same as a request): a store without the schema is an error now, while a server that cannot
    /// be reached is not (the reader connects when it answers, and the responder answers
    /// `store_unavailable` until a host is back).
    public func openReader(minting: Minting?) throws(StoreError) -> PostgresReader {
        let reader = try PostgresReader(backend: self, minting: minting)
        try reader.checkSchemaIfConnected(deadline: monotonicMicroseconds() + settings.storeTimeoutMicroseconds)
        return reader
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
