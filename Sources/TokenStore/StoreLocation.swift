/// Where a token store lives, parsed once from `--store` / `TOKEN_STORE`.
///
/// Every executable reads the store's location through this value, and the store backends
/// (`StoreBackends`) pick the implementation from its kind: a value starting with
/// `postgresql://` or `postgres://` is a libpq connection URI (PostgreSQL), anything else the
/// path of a SQLite file.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite store file (with its `-wal` and `-shm` beside it).
    case sqlite(path: String)
    /// A PostgreSQL database, as a libpq connection URI passed to libpq as it is (host lists,
    /// `target_session_attrs`, `sslmode`, `passfile`, `options`… work as in psql).
    case postgres(uri: String)

    /// The location written in `text`; nil for an empty value.
    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            self = .postgres(uri: text)
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The location from `flag` (`--store`) or else the `TOKEN_STORE` value `environment`;
    /// an empty value counts as not given.
    public static func resolve(flag: String?, environment: String?) throws(StoreLocationError) -> StoreLocation {
        if let flag, let location = StoreLocation(flag) { return location }
        if let environment, let location = StoreLocation(environment) { return location }
        throw StoreLocationError()
    }

    /// How the location appears in log lines and messages: a URI's password (in the user part
    /// or as a `password=` parameter) is replaced by `***`, so it is never printed or logged.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let uri): Self.maskingPassword(uri)
        }
    }

    /// `uri` with the password of its user part and of any `password=` parameter as `***`.
    static func maskingPassword(_ uri: String) -> String {
        var text = Array(uri.utf8)
        guard let schemeEnd = text.firstIndex(of: UInt8(ascii: ":")).map({ $0 + 3 }), schemeEnd <= text.count else {
            return uri
        }
        let authorityEnd =
            text[schemeEnd...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") })
            ?? text.endIndex
        if let at = text[schemeEnd..<authorityEnd].lastIndex(of: UInt8(ascii: "@")),
            let colon = text[schemeEnd..<at].firstIndex(of: UInt8(ascii: ":"))
        {
            text.replaceSubrange((colon + 1)..<at, with: Array("***".utf8))
        }
        guard let query = text.firstIndex(of: UInt8(ascii: "?")) else { return String(decoding: text, as: UTF8.self) }
        var out = Array(text[...query])
        let parameters = text[(query + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            if parameter.starts(with: Array("password=".utf8)) {
                out += Array("password=***".utf8)
            } else {
                out += parameter
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// No store location was given.
public struct StoreLocationError: Error, Sendable, CustomStringConvertible {
    /// The message both executables print.
    public var description: String { "no token store given: use --store PATH or set TOKEN_STORE" }
}
