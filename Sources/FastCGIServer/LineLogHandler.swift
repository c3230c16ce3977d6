import Glibc
import Logging

/// A swift-log handler writing one line per event to stderr with a single write(2):
/// `2026-11-26T07:11:54Z info token-responder: latency_ms=0.2 outcome=found status=200 request`.
///
/// Written because swift-log's `StreamLogHandler` (localtime + strftime, a lock and an fflush
/// per line) cost about 15% of the responder's throughput at 256 connections with one line per
/// request (bench: run_anchors.sh, 19.2k vs 22.9k req/s with and without request lines). This
/// one formats UTC by hand and needs no lock: a single write of a short line is not interleaved.
///
/// With a `LineBuffer` (one per FastCGI worker thread), lines below `warning` collect in the
/// buffer and go out in one write of at most about 4 KiB, when it fills or when the worker
/// is about to wait for work; a warning or worse flushes at once.
public struct LineLogHandler: LogHandler {
    /// Extra metadata attached to every line.
    public var metadata: Logger.Metadata = [:]
    /// Lowest level written.
    public var logLevel: Logger.Level = .info
    private let label: String
    private let fd: Int32
    private let buffer: LineBuffer?

    /// Creates a handler writing to `fd` (stderr by default), through `buffer` if given.
    public init(label: String, fd: Int32 = 2, buffer: LineBuffer? = nil) {
        self.label = label
        self.fd = fd
        self.buffer = buffer
    }

    /// Per-handler metadata access.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats and writes one line.
    public func log(event: LogEvent) {
        var line = Self.timestamp()
        line += " \(event.level.rawValue) \(label):"
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            line += " \(key)=\(merged[key]!)"
        }
        line += " \(event.message)\n"
        if let buffer {
            buffer.append(line)
            if event.level >= .warning { buffer.flush() }
        } else {
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { _ = write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// Log lines waiting to be written together; used by one thread only.
///
/// Under load a FastCGI worker answers requests back to back, and a write(2) per request line
/// was a tenth of its system calls; this turns them into one write per about 4 KiB.
public final class LineBuffer: @unchecked Sendable {
    // @unchecked: owned by one worker thread, which alone logs through it and flushes it.
    private var bytes: [UInt8] = []
    private let fd: Int32
    /// Buffered bytes after which `append` writes them out.
    static let limit = 3 * 1024

    /// Creates an empty buffer for `fd`.
    public init(fd: Int32 = 2) {
        self.fd = fd
        bytes.reserveCapacity(Self.limit + 1024)
    }

    /// True when nothing waits to be written.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Adds one line, writing the buffer out if it is full.
    func append(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        if bytes.count >= Self.limit { flush() }
    }

    /// Writes out whatever is buffered (whole lines, in one write where the kernel allows).
    public func flush() {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }  // nowhere to log to: drop rather than stall
            offset += written
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
