import TokenStore

/// The SQLite token store: one file in WAL mode, so lookups never wait for an import.
public struct SQLiteBackend: StoreBackend {
    /// The store file.
    public let path: String

    /// The store at `path`.
    public init(path: String) {
        self.path = path
    }

    /// Where the store is.
    public var location: StoreLocation { .sqlite(path: path) }

    /// Opens a reader (O(1) in the store's size: plain CGI opens one per request).
    public func openReader(minting: Minting?) throws(StoreError) -> SQLiteReader {
        try SQLiteReader(path: path, minting: minting)
    }

    /// Opens the store for writing; see ``SQLiteWriter/init(path:create:schemaWithFirstWrite:)``.
    public func openWriter(create: Bool, schemaWithFirstWrite: Bool) throws(StoreError) -> any StoreWriter {
        try SQLiteWriter(path: path, create: create, schemaWithFirstWrite: schemaWithFirstWrite)
    }

    /// Opens the existing store read-only.
    public func openInspector() throws(StoreError) -> any StoreInspector {
        try SQLiteInspector(path: path)
    }
}
