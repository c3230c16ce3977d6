import PostgresStore
import SQLiteStore
import TokenStore

extension StoreLocation {
    /// The engine serving this location. The only place that names the implementations: the
    /// executables open stores through this and the ``StoreBackend`` protocols alone.
    public func backend(_ settings: StoreBackendSettings = StoreBackendSettings()) -> any StoreBackend {
        switch self {
        case .sqlite(let path): SQLiteBackend(path: path)
        case .postgres(let uri): PostgresBackend(uri: uri, settings: settings)
        }
    }

    /// Runs `user` with this location's engine as a concrete type (inlinable, so the caller's
    /// module specialises `user` for each engine); with `fallback` (a SQLite file), the engine
    /// answered from that file when it cannot answer itself (``FallbackBackend``).
    @inlinable
    public func withBackend<User: StoreBackendUser>(
        _ settings: StoreBackendSettings = StoreBackendSettings(), fallback: String? = nil, _ user: User
    ) throws -> User.Result {
        switch (self, fallback) {
        case (.sqlite(let path), nil): try user.use(SQLiteBackend(path: path))
        case (.postgres(let uri), nil): try user.use(PostgresBackend(uri: uri, settings: settings))
        case (.sqlite(let path), let fallback?):
            try user.use(FallbackBackend(primary: SQLiteBackend(path: path), fallback: SQLiteBackend(path: fallback)))
        case (.postgres(let uri), let fallback?):
            try user.use(
                FallbackBackend(
                    primary: PostgresBackend(uri: uri, settings: settings), fallback: SQLiteBackend(path: fallback)))
        }
    }
}
