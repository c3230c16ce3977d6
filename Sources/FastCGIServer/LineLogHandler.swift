import Glibc
import Logging
import TokenCore

/// A swift-log handler writing one line per event to stderr with a single write(2):
/// `2026-11-26T07:11:54Z info token-responder: latency_ms=0.2 outcome=found status=200 request`.
///
/// Written because swift-log's `StreamLogHandler` (localtime + strftime, a lock and an fflush
/// per line) cost a large share of the throughput with one line per request
/// (`docs/PERFORMANCE.md`). This one formats UTC by hand and needs no lock: a single write of a
/// short line is not interleaved.
///
/// The FastCGI responder logs through a `LogWriter`, which writes on a thread of its own so that
/// a stderr that stops taking lines never holds up an answer; each worker also collects its
/// lines in a `LineBuffer` and hands them over about 3 KiB at a time, or when it is about to
/// wait for work (a warning or worse at once).
public struct LineLogHandler: LogHandler {
    /// Extra metadata attached to every line.
    public var metadata: Logger.Metadata = [:]
    /// Lowest level written.
    public var logLevel: Logger.Level = .info
    private let label: String
    private let fd: Int32
    private let writer: LogWriter?
    private let buffer: LineBuffer?
    /// Lines start with their syslog priority (`<6>`): stderr is the journal (``LogOutput``).
    private let priorities: Bool

    /// Creates a handler writing to `fd` (stderr by default) directly, through `writer` if
    /// given, and collecting lines in `buffer` (which hands them to its writer) if given;
    /// `priorities` starts each line with its syslog priority.
    public init(
        label: String, fd: Int32 = 2, writer: LogWriter? = nil, buffer: LineBuffer? = nil, priorities: Bool = false
    ) {
        self.label = label
        self.fd = fd
        self.writer = writer
        self.buffer = buffer
        self.priorities = priorities
    }

    /// Per-handler metadata access.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats and writes one line.
    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata, !extra.isEmpty { merged.merge(extra) { $1 } }
        if let buffer {
            // Straight into the worker's buffer: this runs once per request under load.
            let stamp = buffer.timestamp()
            buffer.append {
                Self.appendLine(
                    to: &$0, stamp: stamp, level: event.level, label: label, metadata: merged,
                    message: event.message.description, priority: priorities)
            }
            if event.level >= .warning { buffer.flush() }
            return
        }
        var bytes = Self.line(
            stamp: Self.timestamp(), level: event.level, label: label, metadata: merged,
            message: event.message.description, priority: priorities)
        if let writer {
            writer.submit(bytes)
        } else {
            bytes.withUnsafeMutableBytes { _ = write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// One line as this handler writes it, in UTF-8: `STAMP LEVEL LABEL: [key=value ...] MESSAGE`,
    /// newline included, metadata sorted by key; with `priority`, `<N>` first (`<6>` for info).
    static func line(
        stamp: String, level: Logger.Level, label: String, metadata: Logger.Metadata = [:], message: String,
        priority: Bool = false
    )
        -> [UInt8]
    {
        var bytes: [UInt8] = []
        appendLine(
            to: &bytes, stamp: stamp, level: level, label: label, metadata: metadata, message: message,
            priority: priority)
        return bytes
    }

    /// Appends the line `line(...)` returns to `bytes`.
    static func appendLine(
        to bytes: inout [UInt8], stamp: String, level: Logger.Level, label: String, metadata: Logger.Metadata,
        message: String, priority: Bool = false
    ) {
        if priority {
            let prefix = LogOutput.priority(level)
            bytes.append(contentsOf: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        }
        bytes.appendUTF8(stamp)
        bytes.append(UInt8(ascii: " "))
        bytes.appendUTF8(level.rawValue)
        bytes.append(UInt8(ascii: " "))
        bytes.appendUTF8(label)
        bytes.append(UInt8(ascii: ":"))
        for key in metadata.keys.sorted() {
            bytes.appendUTF8(" \(key)=\(metadata[key]!)")
        }
        bytes.append(UInt8(ascii: " "))
        bytes.appendUTF8(message)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
    static func timestamp() -> String {
        timestamp(at: time(nil))
    }

    /// `seconds` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
    static func timestamp(at seconds: time_t) -> String {
        UTCTimestamp.iso8601(Int64(seconds))
    }
}

/// Log lines waiting to be handed to a `LogWriter` together; used by one thread only.
///
/// Under load a FastCGI worker answers requests back to back; handing over each request's
/// line (a lock, and at first a write(2) per request) was a tenth of its system calls.
public final class LineBuffer: @unchecked Sendable {
    // @unchecked: owned by one worker thread, which alone logs through it and flushes it.
    private var bytes: [UInt8] = []
    private let writer: LogWriter
    /// Buffered bytes after which `append` hands them over.
    static let limit = 3 * 1024
    private var stampSecond: time_t = -1
    private var stamp = ""

    /// Creates an empty buffer for `writer`.
    public init(writer: LogWriter) {
        self.writer = writer
        bytes.reserveCapacity(Self.limit + 1024)
    }

    /// The current time as `LineLogHandler.timestamp()` gives it, formatted once a second.
    func timestamp() -> String {
        let now = time(nil)
        if now != stampSecond {
            stamp = LineLogHandler.timestamp(at: now)
            stampSecond = now
        }
        return stamp
    }

    /// True when nothing waits to be handed over.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Adds one line, written by `write` at the end of the buffer, handing the buffer over if
    /// it is full.
    func append(_ write: (inout [UInt8]) -> Void) {
        write(&bytes)
        if bytes.count >= Self.limit { flush() }
    }

    /// Hands whatever is buffered (whole lines) to the writer.
    public func flush() {
        guard !bytes.isEmpty else { return }
        writer.submit(bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}
