import Glibc

/// Starts a joinable POSIX thread running `body`.
///
/// The entry point is a plain function in a library file on purpose: a closure written in an
/// executable's `main.swift` is main-actor isolated under Swift 6 and traps when run on another
/// thread (`_dispatch_assert_queue_fail`).
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, threadEntry, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return thread
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

private func threadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
    body.body()
    return nil
}
