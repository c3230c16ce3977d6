import Synchronization

/// How unknown numbers get tokens, when the responder mints them: shared by every reader of
/// the process, whatever the store's engine.
public struct Minting: Sendable {
    /// Derives the tokens.
    public var minter: TokenMinter
    /// How many new rows minting may still add, shared by every reader of the process.
    public var budget: MintBudget
    /// Told when a minted token could not be recorded (the reply still carries it).
    public var onRecordFailure: @Sendable (StoreError) -> Void

    /// Creates a minting setup.
    public init(
        minter: TokenMinter, budget: MintBudget = MintBudget(maxNewRows: MintBudget.defaultMaxNewRows),
        onRecordFailure: @escaping @Sendable (StoreError) -> Void
    ) {
        self.minter = minter
        self.budget = budget
        self.onRecordFailure = onRecordFailure
    }
}

/// How many new rows minting may add while the responder runs (`--mint-max-rows`), shared by
/// all workers. Minting answers every unknown caller with a new customer, so a flood of calls
/// from numbers nobody knows (a dialer, a misrouted trunk) would otherwise grow the store and
/// Udesk's customer list without bound.
public final class MintBudget: Sendable {
    /// The default budget per process start.
    public static let defaultMaxNewRows = 100_000

    /// New rows allowed per process start.
    public let maxNewRows: Int
    private let used = Atomic<Int>(0)
    private let exhaustedReported = Atomic<Bool>(false)
    private let onExhausted: @Sendable (Int) -> Void

    /// A budget of `maxNewRows`; `onExhausted` is called once, the first time a mint is refused.
    public init(maxNewRows: Int, onExhausted: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.maxNewRows = maxNewRows
        self.onExhausted = onExhausted
    }

    /// Takes one row from the budget; false (and, the first time, `onExhausted`) when none is left.
    public func reserve() -> Bool {
        if used.add(1, ordering: .relaxed).newValue <= maxNewRows { return true }
        used.subtract(1, ordering: .relaxed)
        if !exhaustedReported.exchange(true, ordering: .relaxed) { onExhausted(maxNewRows) }
        return false
    }

    /// Returns a reserved row that was not added after all (the number had a row, or recording failed).
    public func giveBack() {
        used.subtract(1, ordering: .relaxed)
    }

    /// Rows minting has added so far.
    public var rowsAdded: Int { used.load(ordering: .relaxed) }
}
