import Glibc

@testable import TokenImport
@testable import TokenStore

/// A store held in a dictionary behind the writer, inspector and import-session protocols: the
/// engine-neutral parts (import rules, export format, verify rules) tested without SQLite.
final class MemoryStore: StoreWriter, StoreInspector {
    struct Row: Equatable {
        var token: String
        var minted = false
        var updatedAt: Int64 = 0
    }

    var rows: [String: Row] = [:]
    var schema: Int64 = 1
    var damage: [String] = []
    var lastImport: (time: Int64, source: String)?

    var location: StoreLocation { .sqlite(path: ":memory-test:") }
    var knownSchemaVersion: Int64 { 1 }

    func count() throws(StoreError) -> Int { rows.count }

    func put(key: String, token: String, now: Int64) throws(StoreError) -> PutOutcome {
        let before = rows[key]
        if before?.token == token && before?.minted == false { return .unchanged }
        rows[key] = Row(token: token, updatedAt: now)
        return before == nil ? .added : .updated
    }

    func delete(key: String) throws(StoreError) -> Bool { rows.removeValue(forKey: key) != nil }

    func beginImport(options: ImportSessionOptions) throws(StoreError) -> any ImportSession {
        Session(store: self, now: options.now)
    }

    func schemaVersion() throws(StoreError) -> Int64 { schema }

    func requireReadableSchema() throws(StoreError) {
        guard schema == 1 else { throw StoreError(.incompatibleSchema, "schema \(schema)") }
    }

    func token(forKey key: String) throws(StoreError) -> String? { rows[key]?.token }

    func statistics() throws(StoreError) -> StoreStatistics {
        var stats = StoreStatistics()
        stats.rows = rows.count
        stats.mintedRows = rows.values.filter(\.minted).count
        stats.schemaVersion = schema
        return stats
    }

    func forEachRow(mintedOnly: Bool, _ body: (StoredRow) throws -> Void) throws {
        for key in rows.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let row = rows[key]!
            if mintedOnly && !row.minted { continue }
            let keyBytes = Array(key.utf8)
            let tokenBytes = Array(row.token.utf8)
            try keyBytes.withUnsafeBufferPointer { k in
                try tokenBytes.withUnsafeBufferPointer { t in
                    try body(StoredRow(key: k, token: t, updatedAt: row.updatedAt))
                }
            }
        }
    }

    func inSnapshot<T>(_ body: () throws -> T) throws -> T { try body() }

    func integrityProblems(limit: Int) throws(StoreError) -> [String] { Array(damage.prefix(limit)) }

    func backup(to destination: String, overwrite: Bool) throws -> Int64 { 0 }

    /// An import: rows go to a copy, which replaces the store's rows on commit.
    final class Session: ImportSession {
        let store: MemoryStore
        let now: Int64
        var staged: [String: Row]
        var listed: [String: (line: Int, token: String)] = [:]
        var changed = 0
        var repeats: [RepeatedKey] = []
        let rowsBefore: Int

        init(store: MemoryStore, now: Int64) {
            self.store = store
            self.now = now
            staged = store.rows
            rowsBefore = store.rows.count
        }

        func add(key: String, token: String, line: Int) throws(StoreError) {
            if let earlier = listed[key] {
                repeats.append(RepeatedKey(line: line, earlierLine: earlier.line, sameToken: earlier.token == token))
                return
            }
            listed[key] = (line, token)
            if staged[key] != Row(token: token, minted: false, updatedAt: staged[key]?.updatedAt ?? -1) {
                staged[key] = Row(token: token, updatedAt: now)
                changed += 1
            }
        }

        func repeatedKeys() throws(StoreError) -> [RepeatedKey] { repeats }

        func removeUnlisted() throws(StoreError) -> Int {
            let unlisted = staged.keys.filter { listed[$0] == nil }
            for key in unlisted { staged[key] = nil }
            return unlisted.count
        }

        func tally() throws(StoreError) -> (rows: Int, changed: Int) { (staged.count, changed) }

        func commit(source: String) throws(StoreError) {
            store.rows = staged
            store.lastImport = (now, source)
        }

        func rollBack() throws(StoreError) {}

        func abandon() {}
    }
}

/// Runs `TokenImporter` on `text` into `store` through a pipe.
@discardableResult
func importText(_ text: String, into store: MemoryStore, _ configure: (inout TokenImporter.Options) -> Void = { _ in })
    throws -> ImportReport
{
    try importBytes(Array(text.utf8), into: store, configure)
}

/// Runs `TokenImporter` on `bytes` (in any encoding) into `store` through a pipe.
@discardableResult
func importBytes(
    _ bytes: [UInt8], into store: MemoryStore, _ configure: (inout TokenImporter.Options) -> Void = { _ in }
) throws -> ImportReport {
    var options = TokenImporter.Options()
    configure(&options)
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    precondition(bytes.count < 60_000, "keep test files within the pipe's buffer")
    _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    close(fds[1])
    defer { close(fds[0]) }
    return try TokenImporter(normaliser: .init(), options: options).run(fd: fds[0], into: store)
}
