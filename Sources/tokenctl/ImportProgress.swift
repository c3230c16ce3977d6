import Glibc
import Synchronization
import TokenImport
import TokenStore

/// The `\r1048576 rows read, 42% of the file, 310000 rows/s` line `tokenctl import` keeps
/// updating on a terminal, once a second.
///
/// Only when standard error is a terminal and --json is not given: a log file or a pipe gets no
/// carriage returns, and a script reading --json gets nothing but the report. The importer
/// calls it every ``TokenImporter/progressInterval`` records; it writes at most once a second,
/// so an import shorter than that never shows it.
final class ImportProgress: Sendable {
    private let shown = Atomic<Bool>(false)
    /// Total of the positions (bytes of a file, rows of a sheet); 0 when unknown.
    private let total: Atomic<Int>
    /// Bytes of a file (false) or rows of a worksheet (true).
    private let ofSheet = Atomic<Bool>(false)
    private let started = monotonicMicroseconds()
    private let lastShown: Atomic<Int64>

    /// How often the line is rewritten, in microseconds.
    static let interval: Int64 = 1_000_000

    private init(total: Int?) {
        self.total = Atomic(total ?? 0)
        lastShown = Atomic(started)
    }

    /// A reporter if standard error is a terminal and not `quiet`, else nil. `total`: the
    /// file's size, when known.
    static func forTerminal(quiet: Bool, total: Int?) -> ImportProgress? {
        !quiet && isatty(2) == 1 ? ImportProgress(total: total) : nil
    }

    /// The worksheet's last row: positions are rows from now on.
    func setTotal(_ rows: Int) {
        ofSheet.store(true, ordering: .relaxed)
        total.store(rows, ordering: .relaxed)
    }

    /// Rewrites the line, if a second has passed since it was last written.
    func update(records: Int, position: Int) {
        let now = monotonicMicroseconds()
        guard now - lastShown.load(ordering: .relaxed) >= Self.interval else { return }
        lastShown.store(now, ordering: .relaxed)
        shown.store(true, ordering: .relaxed)
        let known = total.load(ordering: .relaxed)
        let line = ImportProgressLine.text(
            records: records, position: position, total: known > 0 ? known : nil,
            of: ofSheet.load(ordering: .relaxed) ? "the sheet" : "the file", elapsedMicroseconds: now - started)
        Self.writeStandardError("\r" + line + "\u{1B}[K")
    }

    /// Clears the line, if it was ever shown, before the summary is printed.
    func finish() {
        if shown.load(ordering: .relaxed) { Self.writeStandardError("\r\u{1B}[K") }
    }

    private static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
