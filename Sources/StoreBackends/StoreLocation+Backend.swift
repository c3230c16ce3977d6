import SQLiteStore
import TokenStore

extension StoreLocation {
    /// The engine serving this location. The only place that names an implementation: the
    /// executables open stores through this and the ``StoreBackend`` protocols alone.
    public var backend: any StoreBackend {
        switch self {
        case .sqlite(let path): SQLiteBackend(path: path)
        }
    }

    /// Runs `user` with this location's engine as a concrete type (inlinable, so the caller's
    /// module specialises `user` for each engine).
    @inlinable
    public func withBackend<User: StoreBackendUser>(_ user: User) throws -> User.Result {
        switch self {
        case .sqlite(let path): try user.use(SQLiteBackend(path: path))
        }
    }
}
