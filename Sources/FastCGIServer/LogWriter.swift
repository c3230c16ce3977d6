import CFastCGI
import Glibc
import Logging
import Synchronization
import TokenStore

/// Writes log lines to a file descriptor (stderr) on a thread of its own.
///
/// A write to stderr can block: a pipe nobody drains, a journal that stalls, a file on a disk
/// busy with an import's fsyncs. With the FastCGI workers writing their request lines
/// themselves, one such stall held up every answer (a test leaves the pipe undrained: the
/// responder stopped answering after about 500 requests). Workers now only append to a
/// bounded queue; when it is full, lines are dropped and counted, and a warning says how
/// many once stderr takes lines again. Lines reach stderr in the order they were submitted,
/// within `batchMilliseconds`.
public final class LogWriter: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        /// Lines dropped since start, for the metrics.
        var droppedTotal = 0
        var asleep = false
        var stopping = false
        var finished = false
    }

    private let fd: Int32
    /// Lines start with their syslog priority (the warning about dropped lines needs one).
    private let priorities: Bool
    private let state = Mutex(State())
    private nonisolated(unsafe) let wake: UnsafeMutablePointer<sem_t>
    /// Most bytes queued; beyond it, lines are dropped rather than wait.
    static let capacity = 1 << 20

    /// Starts the writer thread for `output`'s descriptor.
    public convenience init(output: LogOutput) {
        self.init(fd: output.fd, priorities: output.priorities)
    }

    /// Starts the writer thread for `fd`; `priorities` as the lines it is given have them.
    public init(fd: Int32 = 2, priorities: Bool = false) {
        self.fd = fd
        self.priorities = priorities
        wake = .allocate(capacity: 1)
        sem_init(wake, 0, 0)
        // The thread starts with every signal blocked (it inherits the mask), so SIGTERM and
        // SIGHUP always reach the responder's signal-waiting thread, never this one.
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        _ = spawnThread { [self] in run() }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Queues `bytes` (whole lines), or drops them if the queue is full.
    public func submit(_ bytes: [UInt8]) {
        let post = state.withLock { state -> Bool in
            if state.pending.count + bytes.count > Self.capacity {
                let lines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                state.dropped += lines
                state.droppedTotal += lines
                return false
            }
            state.pending.append(contentsOf: bytes)
            guard state.asleep else { return false }
            state.asleep = false
            return true
        }
        if post { sem_post(wake) }
    }

    /// Lines dropped since start because the queue was full.
    public var droppedLines: Int { state.withLock { $0.droppedTotal } }

    /// Writes what is queued, giving up after `seconds` if stderr does not take it; the writer
    /// thread then stops. Called once, when the responder stops.
    public func finish(waitingAtMost seconds: Double = 1) {
        state.withLock { $0.stopping = true }
        sem_post(wake)
        let deadline = monotonicMicroseconds() + Int64(seconds * 1_000_000)
        while !state.withLock({ $0.finished }) && monotonicMicroseconds() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
        }
    }

    private func run() {
        var chunk: [UInt8] = []
        while true {
            let (stopping, dropped) = state.withLock { state -> (Bool, Int) in
                swap(&chunk, &state.pending)
                defer { state.dropped = 0 }
                if chunk.isEmpty && state.dropped == 0 && !state.stopping { state.asleep = true }
                return (state.stopping, state.dropped)
            }
            if chunk.isEmpty && dropped == 0 && !stopping {
                while sem_wait(wake) != 0 && errno == EINTR {}
                batchPause()
                continue
            }
            writeAll(chunk)
            chunk.removeAll(keepingCapacity: true)
            if dropped > 0 {
                writeAll(
                    LineLogHandler.line(
                        stamp: LineLogHandler.timestamp(), level: .warning, label: ResponderLogging.label,
                        message: "\(dropped) log lines dropped: stderr was not taking them", priority: priorities))
            }
            if stopping {
                if state.withLock({ $0.pending.isEmpty }) {
                    state.withLock { $0.finished = true }
                    return
                }
            } else {
                batchPause()
            }
        }
    }

    /// Lets lines gather for a moment, so that a busy responder costs one write and one
    /// wake-up of this thread per `batchMilliseconds`, not one per worker going idle (which
    /// cost throughput under load: `docs/PERFORMANCE.md`).
    /// `finish()` cuts the pause short.
    private func batchPause() {
        guard !state.withLock({ $0.stopping }) else { return }
        _ = token_sem_wait_for(wake, Self.batchMilliseconds * 1_000_000)
    }

    /// Longest a line waits before it is written, while the responder is logging.
    static let batchMilliseconds = 20

    /// Nowhere to log to (a write fails) drops the lines rather than spinning.
    private func writeAll(_ bytes: [UInt8]) {
        FileDescriptorWriting.writeAll(bytes, to: fd)
    }
}
