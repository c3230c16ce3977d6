import Logging
import Synchronization
import TokenStore

/// A warning written at most once per interval, saying how many were left out in between: a
/// condition that repeats thousands of times a second (descriptors exhausted) must not flood
/// the log or cost the time writing it.
final class RateLimitedWarning: Sendable {
    private let intervalMicroseconds: Int64
    private let lastLogged = Atomic<Int64>(Int64.min / 2)
    private let suppressed = Atomic<Int>(0)

    init(intervalMicroseconds: Int64) {
        self.intervalMicroseconds = intervalMicroseconds
    }

    /// Writes `message` at `level` with `metadata` and a `suppressed` count, unless one was
    /// written less than the interval ago (it is then only counted).
    func log(
        _ message: @autoclosure () -> Logger.Message, level: Logger.Level = .warning,
        metadata: Logger.Metadata = [:], to logger: Logger
    ) {
        guard let suppressed = shouldLog(now: monotonicMicroseconds()) else { return }
        logger.log(level: level, message(), metadata: metadata.merging(["suppressed": "\(suppressed)"]) { $1 })
    }

    /// nil if the warning should be left out now; otherwise how many were left out since the last one.
    private func shouldLog(now: Int64) -> Int? {
        let last = lastLogged.load(ordering: .relaxed)
        guard now - last >= intervalMicroseconds,
            lastLogged.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else {
            suppressed.add(1, ordering: .relaxed)
            return nil
        }
        return suppressed.exchange(0, ordering: .relaxed)
    }
}
