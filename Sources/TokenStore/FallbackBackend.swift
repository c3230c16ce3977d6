/// A store answered from a second one when it cannot answer: `--fallback-store`, a SQLite
/// snapshot (`tokenctl backup` on a timer) beside a PostgreSQL store. Lookups go to `primary`
/// first; when it fails (no host within the store timeout, a broken connection), the same
/// lookup is answered by `fallback`, and the answer says so (`answeredFromFallback`: the
/// outcome `fallback` in logs and metrics, `degraded` in the health check).
///
/// Writing tools (tokenctl) see only `primary`.
public struct FallbackBackend<Primary: StoreBackend, Fallback: StoreBackend>: StoreBackend {
    /// The store itself.
    public let primary: Primary
    /// The store answered from when `primary` cannot answer.
    public let fallback: Fallback

    /// `primary`, answered from `fallback` when it cannot answer.
    public init(primary: Primary, fallback: Fallback) {
        self.primary = primary
        self.fallback = fallback
    }

    /// The primary's location.
    public var location: StoreLocation { primary.location }

    /// A reader of each; minting goes to the primary only.
    public func openReader(minting: Minting?) throws(StoreError) -> FallbackReader<Primary.Reader, Fallback.Reader> {
        FallbackReader(
            primary: try primary.openReader(minting: minting), fallback: try fallback.openReader(minting: nil))
    }

    /// Checks both: the responder does not start without a usable fallback either.
    public func checkReadable() throws(StoreError) {
        try primary.checkReadable()
        try fallback.checkReadable()
    }

    public func openWriter(create: Bool, schemaWithFirstWrite: Bool) throws(StoreError) -> any StoreWriter {
        try primary.openWriter(create: create, schemaWithFirstWrite: schemaWithFirstWrite)
    }

    public func openInspector() throws(StoreError) -> any StoreInspector {
        try primary.openInspector()
    }
}

/// One worker's pair of readers: see ``FallbackBackend``.
public final class FallbackReader<Primary: StoreReader, Fallback: StoreReader>: StoreReader {
    let primary: Primary
    let fallback: Fallback
    public private(set) var answeredFromFallback = false

    init(primary: Primary, fallback: Fallback) {
        self.primary = primary
        self.fallback = fallback
    }

    public func token(forKey key: String) throws(StoreError) -> String? {
        do throws(StoreError) {
            let token = try primary.token(forKey: key)
            answeredFromFallback = false
            return token
        } catch {
            answeredFromFallback = true
            return try fallback.token(forKey: key)
        }
    }

    public func mintToken(forKey key: String) throws -> String? {
        try primary.mintToken(forKey: key)
    }

    /// Both snapshots: a fallback file replaced by its timer makes the workers reopen it.
    public func holdSnapshot(now: Int64, maxAge: Int64) -> Bool {
        primary.holdSnapshot(now: now, maxAge: maxAge) && fallback.holdSnapshot(now: now, maxAge: maxAge)
    }

    public func releaseSnapshot() {
        primary.releaseSnapshot()
        fallback.releaseSnapshot()
    }

    public func finishTurn(idle: Bool) {
        primary.finishTurn(idle: idle)
        fallback.finishTurn(idle: idle)
    }

    public func checkHealth() throws(StoreError) {
        do throws(StoreError) {
            try primary.checkHealth()
            answeredFromFallback = false
        } catch {
            answeredFromFallback = true
            try fallback.checkHealth()
        }
    }

    public func rowCount() throws(StoreError) -> Int {
        do throws(StoreError) {
            return try primary.rowCount()
        } catch {
            return try fallback.rowCount()
        }
    }

    public func lastImportTime() throws(StoreError) -> Int64? {
        do throws(StoreError) {
            return try primary.lastImportTime()
        } catch {
            return try fallback.lastImportTime()
        }
    }
}
