import Glibc
import Synchronization
import TokenStore

/// The workers' store readers, reopened as one set.
///
/// SQLite shares one `-shm` mapping (and its locks) between all connections of a process to
/// the same database file. When the files at the store path change under the responder (the
/// `-wal`/`-shm` removed, a backup moved over the store, the store deleted), a worker that
/// reopened on its own would join the stale mapping its colleagues still hold, or two mappings
/// of one file would cancel each other's locks. So a change seen by one worker (or a SIGHUP)
/// starts a new generation: every worker closes its reader at its next step, and readers of the
/// new generation are opened only once no reader of an older one is left.
final class StoreReaderSet: Sendable {
    /// The generation readers should be opened in; bumped by a reopen.
    private let generation = Atomic<Int>(0)
    /// Readers open per generation.
    private let open = Mutex<[Int: Int]>([:])

    /// The current generation (one atomic load: checked by every worker on every turn).
    var current: Int { generation.load(ordering: .acquiring) }

    /// Starts a new generation unless one was started since `seen`; true if this call did.
    @discardableResult
    func reopen(after seen: Int) -> Bool {
        generation.compareExchange(expected: seen, desired: seen + 1, ordering: .acquiringAndReleasing).exchanged
    }

    /// Starts a new generation (SIGHUP).
    func reopen() {
        generation.add(1, ordering: .acquiringAndReleasing)
    }

    /// Records a reader opened in `generation`.
    func opened(in generation: Int) {
        open.withLock { $0[generation, default: 0] += 1 }
    }

    /// Records that a reader of `generation` was closed.
    func closed(in generation: Int) {
        open.withLock { counts in
            counts[generation, default: 0] -= 1
            if counts[generation] == 0 { counts[generation] = nil }
        }
    }

    /// Waits until no reader of a generation before `generation` is open, checking every
    /// 500 µs for at most `timeoutMicroseconds`; false if some are still open then. Workers
    /// close theirs within one turn: a request's time, a spare's 1–20 ms pause, or the waiter's
    /// `epoll_wait` timeout.
    func waitForOlderReaders(than generation: Int, timeoutMicroseconds: Int64) -> Bool {
        let deadline = monotonicMicroseconds() + timeoutMicroseconds
        while true {
            let older = open.withLock { counts in counts.contains { $0.key < generation && $0.value > 0 } }
            if !older { return true }
            if monotonicMicroseconds() >= deadline { return false }
            var pause = timespec(tv_sec: 0, tv_nsec: 500_000)
            nanosleep(&pause, nil)
        }
    }
}
