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
    /// module specialises `user` for each engine).
    @inlinable
    public func withBackend<User: StoreBackendUser>(
        _ settings: StoreBackendSettings = StoreBackendSettings(), _ user: User
    ) throws -> User.Result {
        switch self {
        case .sqlite(let path): try user.use(SQLiteBackend(path: path))
        case .postgres(let uri): try user.use(PostgresBackend(uri: uri, settings: settings))
        }
    }
}
