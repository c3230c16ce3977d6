/// One storage engine for the token store: opens the reader every responder worker holds, and
/// the writer and inspector `tokenctl` uses. `SQLiteStore` is the implementation today.
///
/// The server is generic over the backend, so the per-request calls of ``StoreReader`` are
/// direct calls on the concrete reader type wherever the compiler specialises them.
public protocol StoreBackend: Sendable {
    /// One worker's connection to the store.
    associatedtype Reader: StoreReader

    /// Where the store is.
    var location: StoreLocation { get }

    /// Opens a reader; with `minting`, unknown numbers get derived tokens that the reader
    /// records in the store. Throws if the store is missing, unreadable or not a token store.
    func openReader(minting: Minting?) throws(StoreError) -> Reader

    /// Opens the store for writing. `create`: make an empty store if there is none (else a
    /// missing store is ``StoreError/Kind/cannotOpen``). `schemaWithFirstWrite`: a new store's
    /// schema is committed with the first write rather than on its own, so readers never see an
    /// empty store (see ``StoreWriter/beginImport(options:)``).
    func openWriter(create: Bool, schemaWithFirstWrite: Bool) throws(StoreError) -> any StoreWriter

    /// Opens the existing store read-only, whatever its schema version.
    func openInspector() throws(StoreError) -> any StoreInspector

    /// Checks at start-up what serving would meet, so the responder can refuse to start on a
    /// store that is not there or not a token store.
    func checkReadable() throws(StoreError)
}

extension StoreBackend {
    /// Opens the store as the responder would and lets go.
    public func checkReadable() throws(StoreError) {
        _ = try openReader(minting: nil)
    }
}

/// The read side one responder worker holds: lookups, minting, snapshots. Used by one thread
/// at a time; every call is on the request path, so implementations keep them allocation-free.
public protocol StoreReader: AnyObject {
    /// The token for canonical key `key`, or nil.
    func token(forKey key: String) throws(StoreError) -> String?

    /// A derived token for `key`, recorded in the store if possible; nil once minting has used
    /// its budget (``MintBudget``). Throws ``MintingUnavailable`` for a reader opened without
    /// minting.
    func mintToken(forKey key: String) throws -> String?

    /// Makes the following lookups share one snapshot, started now or renewed if the one held
    /// began more than `maxAge` before `now` (both in the caller's units of one clock). False,
    /// holding nothing, when the reader can no longer be used (the store's files changed): the
    /// caller must close it and every other reader of the process, then open the store again.
    func holdSnapshot(now: Int64, maxAge: Int64) -> Bool

    /// Lets go of the snapshot `holdSnapshot` started, so the next lookup sees every commit.
    func releaseSnapshot()

    /// Housekeeping after a turn of answers (minted rows copied out of a log, say); `idle` when
    /// no worker is serving. Lets go of the snapshot first if it has work to do.
    func finishTurn(idle: Bool)

    /// Throws unless the store answers a query (the health endpoint).
    func checkHealth() throws(StoreError)

    /// True when the last call was answered by a fallback store (see ``FallbackBackend``).
    var answeredFromFallback: Bool { get }

    /// Rows in the store: a full count, for metrics scrapes, not per request.
    func rowCount() throws(StoreError) -> Int

    /// When the last import committed (UNIX seconds), nil if none ever did: for metrics
    /// scrapes, not per request.
    func lastImportTime() throws(StoreError) -> Int64?
}

/// Code that works with whichever engine a ``StoreLocation`` names, with the engine's type known
/// statically (`StoreLocation.withBackend(_:)` in `StoreBackends`): the responder serves through
/// one, so its per-request calls can be specialised for the engine rather than dispatched.
public protocol StoreBackendUser {
    /// What the work gives back.
    associatedtype Result

    /// Does the work with `backend`.
    func use<Backend: StoreBackend>(_ backend: Backend) throws -> Result
}

/// How the engines behave, beyond where the store is: filled from the command line.
public struct StoreBackendSettings: Sendable {
    /// Longest the responder waits for the store per request (`--store-timeout`), covering a
    /// connection, its query and a failover to another host: engines with a network between
    /// them and the store answer `store_unavailable` rather than wait longer.
    public var storeTimeoutMicroseconds: Int64 = 250_000
    /// How the program names itself to a database server (PostgreSQL's `application_name`).
    public var applicationName = "tokenctl"

    /// The defaults.
    public init() {}
}

extension StoreReader {
    /// Readers without a fallback never answer from one.
    public var answeredFromFallback: Bool { false }

    /// Engines that do not record imports know of none.
    public func lastImportTime() throws(StoreError) -> Int64? { nil }
}
