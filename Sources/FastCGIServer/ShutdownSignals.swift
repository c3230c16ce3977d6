import Glibc

/// SIGTERM, SIGINT (stop) and SIGHUP handled by one thread with `sigwait`.
///
/// libfcgi's `FCGX_Init` installs SIGTERM/SIGUSR1 handlers that only set a flag, so a threaded
/// responder would never exit. Blocking the signals in every thread (threads inherit the mask
/// of the thread that creates them) and waiting for them synchronously replaces that.
public enum ShutdownSignals {
    /// The signals this process handles itself.
    static var handled: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        sigaddset(&set, SIGUSR1)
        return set
    }

    /// Blocks the handled signals in the calling thread and every thread it creates afterwards;
    /// ignores SIGPIPE (a client gone mid-answer is an error return, not a death).
    public static func blockInCurrentThread() {
        var set = handled
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits until SIGTERM or SIGINT arrives (SIGUSR1 too: it is the internal wake-up), and
    /// returns it; calls `onHangup` for each SIGHUP meanwhile.
    static func waitForStop(onHangup: () -> Void) -> Int32 {
        var set = handled
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            if received == SIGHUP {
                onHangup()
                continue
            }
            return received
        }
    }

    /// The conventional name of `signal`, for the log.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGUSR1: "SIGUSR1"
        default: "signal \(signal)"
        }
    }

    /// Ends `waitForStop` in `thread` when the workers stopped for another reason.
    static func wakeSignalThread(_ thread: pthread_t) {
        pthread_kill(thread, SIGUSR1)
    }
}
