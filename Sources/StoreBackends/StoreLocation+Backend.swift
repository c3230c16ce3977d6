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
}
