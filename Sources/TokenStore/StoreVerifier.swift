import TokenCore

/// One thing `tokenctl verify` found wrong with a store.
public struct StoreProblem: Sendable, Equatable, CustomStringConvertible {
    /// What part of the store is wrong.
    public enum Kind: String, Sendable, Equatable {
        /// The engine's own check reported damage (SQLite's `PRAGMA integrity_check`), or could
        /// not read the store.
        case integrity
        /// The schema version is not the one this binary writes.
        case schema
        /// A row's key is not what the current normaliser makes of it: the responder can never
        /// find that row.
        case key
        /// A row's token breaks the import rules (empty, too long, control characters, not UTF-8).
        case token
    }

    /// What part of the store is wrong.
    public var kind: Kind
    /// The row's key, for ``Kind/key`` and ``Kind/token`` problems.
    public var key: String?
    /// What is wrong, without the token.
    public var reason: String

    /// Creates a problem.
    public init(kind: Kind, key: String? = nil, reason: String) {
        self.kind = kind
        self.key = key
        self.reason = reason
    }

    /// The key masked by ``MaskedNumber/mask(key:)`` (`+86138******00`), as log lines show it,
    /// so a report can be mailed or logged without carrying a full phone number.
    public var maskedKey: String? {
        key.map(MaskedNumber.mask(key:))
    }

    /// `kind: reason` or `key +86138******00: reason` (masked).
    public var description: String { line(showingKey: false) }

    /// The report line, with the key in full if `showingKey`.
    public func line(showingKey: Bool) -> String {
        if let masked = maskedKey {
            return "\(kind.rawValue) \(showingKey ? key ?? masked : masked): \(reason)"
        }
        return "\(kind.rawValue): \(reason)"
    }
}

/// Checks a store the way the responder and the importer rely on it: the engine's integrity
/// check, the schema version, every key canonical under the current normaliser (`normalise(key).key
/// == key`), every token within ``TokenRules``. Reads one snapshot, changes nothing.
public struct StoreVerifier {
    let normaliser: PhoneNumberNormaliser

    /// Creates a verifier that checks keys against `normaliser`.
    public init(normaliser: PhoneNumberNormaliser) {
        self.normaliser = normaliser
    }

    /// Most integrity-check messages reported; SQLite stops there too.
    static let integrityLimit = 100

    /// Calls `report` for every problem found, in the order found; returns how many there were.
    /// Throws only if the store cannot be read at all.
    @discardableResult
    public func run(_ store: any StoreInspector, report: (StoreProblem) -> Void) throws -> Int {
        var found = 0
        func note(_ problem: StoreProblem) {
            found += 1
            report(problem)
        }
        try store.inSnapshot {
            let damage: [String]
            do throws(StoreError) {
                damage = try store.integrityProblems(limit: Self.integrityLimit)
            } catch {
                note(StoreProblem(kind: .integrity, reason: error.message))
                return
            }
            for message in damage { note(StoreProblem(kind: .integrity, reason: message)) }

            let version = try store.schemaVersion()
            guard version == store.knownSchemaVersion else {
                note(
                    StoreProblem(
                        kind: .schema,
                        reason: version == 0
                            ? "not a token store (schema version 0)"
                            : "schema version \(version), this binary knows \(store.knownSchemaVersion)"))
                return  // the tables cannot be trusted to have the columns read below
            }

            try store.forEachRow(mintedOnly: false) { row in
                let key = row.keyString
                do throws(InvalidPhoneNumber) {
                    let canonical = try normaliser.normalise(key).key
                    if canonical != key {
                        note(
                            StoreProblem(
                                kind: .key, key: key,
                                reason: "not canonical: the responder looks this number up under another key"))
                    }
                } catch {
                    note(StoreProblem(kind: .key, key: key, reason: "not a valid number: \(error.message)"))
                }
                if let reason = TokenRules.problem(with: row.token) {
                    note(StoreProblem(kind: .token, key: key, reason: reason))
                }
            }
        }
        return found
    }
}
