import Glibc
import Synchronization
import TokenStore

/// The `\r1048576 rows read` line `tokenctl import` keeps updating on a terminal.
///
/// Only when standard error is a terminal: a log file or a pipe gets no carriage returns. The
/// importer calls it every ``TokenImporter/progressInterval`` records, so it costs nothing
/// measurable; a file shorter than that never shows it.
final class ImportProgress: Sendable {
    private let shown = Atomic<Bool>(false)

    /// A reporter if standard error is a terminal, else nil.
    static func forTerminal() -> ImportProgress? {
        isatty(2) == 1 ? ImportProgress() : nil
    }

    /// Rewrites the line with `records`.
    func update(_ records: Int) {
        shown.store(true, ordering: .relaxed)
        Self.writeStandardError("\r\(records) rows read")
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
