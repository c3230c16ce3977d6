/// Where a token store lives, parsed once from `--store` / `TOKEN_STORE`.
///
/// Every executable reads the store's location through this value, and the store backends
/// (`StoreBackends`) pick the implementation from its kind. Today every location is a SQLite
/// file; a new engine adds a case here and an implementation target beside `SQLiteStore`.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite store file (with its `-wal` and `-shm` beside it).
    case sqlite(path: String)

    /// The location written in `text`; nil for an empty value.
    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        self = .sqlite(path: text)
    }

    /// The location from `flag` (`--store`) or else the `TOKEN_STORE` value `environment`;
    /// an empty value counts as not given.
    public static func resolve(flag: String?, environment: String?) throws(StoreLocationError) -> StoreLocation {
        if let flag, let location = StoreLocation(flag) { return location }
        if let environment, let location = StoreLocation(environment) { return location }
        throw StoreLocationError()
    }

    /// How the location appears in log lines and messages.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        }
    }
}

/// No store location was given.
public struct StoreLocationError: Error, Sendable, CustomStringConvertible {
    /// The message both executables print.
    public var description: String { "no token store given: use --store PATH or set TOKEN_STORE" }
}
