import Synchronization

/// Connections whose request has started to arrive but is not whole yet.
///
/// They wait here, not in a worker: a sender that trickles its request a byte at a time costs
/// no thread. Workers look at them again about every millisecond while any are waiting
/// (`Worker.sweepPending`), serve those that have become whole, and close those still not
/// whole `--request-timeout` after they were first seen.
final class PendingConnections: Sendable {
    struct Entry: Sendable {
        /// When the connection is given up on (monotonic microseconds).
        var deadline: Int64
        /// Whether the connection is in the epoll set (disarmed) or was never added to it.
        var registered: Bool
    }

    private let entries = Mutex<[Int32: Entry]>([:])
    /// How many connections are waiting (read without the lock on every worker turn).
    private let count = Atomic<Int>(0)
    /// When the last look at the waiting connections began, to share the looking between workers.
    private let lastSweep = Atomic<Int64>(0)

    /// True when some connection is waiting.
    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }

    /// Parks `fd` until `deadline`, unless it is already parked (its deadline then stays).
    func park(_ fd: Int32, deadline: Int64, registered: Bool) {
        entries.withLock { entries in
            if entries[fd] == nil {
                entries[fd] = Entry(deadline: deadline, registered: registered)
                count.add(1, ordering: .relaxed)
            }
        }
    }

    /// Takes every waiting connection out, if no other worker has looked in the last
    /// `interval` microseconds; the caller puts back those still incomplete.
    func takeAll(now: Int64, interval: Int64) -> [(fd: Int32, entry: Entry)] {
        let last = lastSweep.load(ordering: .relaxed)
        guard now - last >= interval,
            lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return [] }
        return entries.withLock { entries in
            let all = entries.map { (fd: $0.key, entry: $0.value) }
            entries.removeAll(keepingCapacity: true)
            count.store(0, ordering: .relaxed)
            return all
        }
    }
}
