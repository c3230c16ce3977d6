import Glibc

/// Microseconds on the monotonic clock: request latency, snapshot ages, the store timeout's
/// deadlines. Inlinable: it runs several times per request.
@inlinable
public func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
