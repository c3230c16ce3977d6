import Glibc
import TokenCore

/// A problem with one line of an import file.
public struct ImportProblem: Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the file.
    public var line: Int
    /// What is wrong, without the number or token themselves.
    public var reason: String

    /// `line N: reason`.
    public var description: String { "line \(line): \(reason)" }
}

/// What an import did (or, for a dry run or a failed import, would have done).
public struct ImportReport: Sendable, Equatable {
    /// Rows whose number was new to the store.
    public var added = 0
    /// Rows whose number was known with another token (or a minted one).
    public var updated = 0
    /// Rows already stored with the same token.
    public var unchanged = 0
    /// Rows deleted because `--replace` was given and the file does not have them.
    public var removed = 0
    /// Invalid rows left out (only with `skipInvalid`).
    public var skipped = 0
    /// Rows repeating an earlier row of the same file exactly (counted as unchanged too).
    public var duplicates = 0
    /// Every invalid or conflicting line.
    public var problems: [ImportProblem] = []
    /// Data rows in the file (header and blank lines not counted).
    public var rows = 0
    /// Rows the store held before the import.
    public var rowsBefore = 0
    /// A malformed file (unbalanced quote, text after a closing quote…): the import is refused
    /// whatever the options, since the rest of the file cannot be read.
    public var syntaxError: ImportProblem?
    /// Why `--replace` was refused as a whole (no data rows, or more removals than allowed),
    /// nil otherwise. The counts above are still what the import would have done.
    public var refusal: String?
    /// True when the store was changed (false for a dry run or a refused import).
    public var committed = false

    /// True when the import is refused: a syntax error, a `--replace` guard, or an invalid or
    /// conflicting row without `skipInvalid`.
    public func isRefused(skipInvalid: Bool) -> Bool {
        syntaxError != nil || refusal != nil || (!problems.isEmpty && !skipInvalid)
    }
}

/// How many of the store's rows an `import --replace` may remove (`--max-remove`).
public enum RemovalLimit: Sendable, Equatable, CustomStringConvertible {
    /// At most this many rows.
    case rows(Int)
    /// At most this percentage (0–100) of the rows the store held before the import.
    case percent(Double)

    /// The default: half of the store.
    public static let `default` = RemovalLimit.percent(50)

    /// Parses `5000` or `50%` (a decimal percentage from 0 to 100); nil if neither.
    public init?(_ text: String) {
        if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), value.isFinite, (0...100).contains(value) else { return nil }
            self = .percent(value)
        } else {
            guard let value = Int(text), value >= 0 else { return nil }
            self = .rows(value)
        }
    }

    /// True when removing `removed` of `before` rows stays within the limit.
    public func allows(removing removed: Int, of before: Int) -> Bool {
        switch self {
        case .rows(let limit): removed <= limit
        case .percent(let percent): percent >= 100 || Double(removed) <= Double(before) * percent / 100
        }
    }

    /// `5000` or `50%`, as given on the command line.
    public var description: String {
        switch self {
        case .rows(let limit): "\(limit)"
        case .percent(let percent):
            percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
        }
    }
}

/// Loads `number,customer_token` rows from CSV/TSV into the store in one transaction.
///
/// All or nothing: unless `skipInvalid` is set, one invalid row or one conflict (two rows whose
/// numbers normalise to the same key with different tokens) rolls the whole import back, and
/// every such line is reported. Rows stream through a temporary table, so memory stays flat.
public struct TokenImporter {
    /// Import options, as `tokenctl import` exposes them.
    public struct Options: Sendable {
        /// Make the store hold exactly the file's rows (deleting the others).
        public var replace = false
        /// Validate and count, then roll back.
        public var dryRun = false
        /// Leave invalid rows out instead of failing the import.
        public var skipInvalid = false
        /// Most rows `replace` may remove; more refuses the whole import.
        public var maxRemove = RemovalLimit.default
        /// SQLite page cache of the import's connection, in KiB (see ``TokenImporter/cacheKiB``).
        var cacheKiB = TokenImporter.cacheKiB
        /// Where the rows came from, recorded in the store's metadata.
        public var source = "-"
        /// Called with the number of records read so far, every ``TokenImporter/progressInterval``
        /// records (not at all for shorter files), on the importing thread; nil for none.
        public var progress: (@Sendable (Int) -> Void)?
        /// Creates default options: merge, commit, fail on any invalid row.
        public init() {}
    }

    /// How many records pass between two calls of ``Options/progress``.
    public static let progressInterval = 1 << 16

    /// Largest accepted token, in bytes.
    public static let maxTokenBytes = 255

    let normaliser: PhoneNumberNormaliser
    let options: Options

    /// Creates an importer.
    public init(normaliser: PhoneNumberNormaliser, options: Options) {
        self.normaliser = normaliser
        self.options = options
    }

    /// SQLite page cache for the import's connection: large enough that a million-row import
    /// does not re-read its own pages through the kernel, fixed so memory stays flat however
    /// long the file is. (With SQLite's 2 MiB default, 1M rows took 16 s instead of ~5.)
    public static let cacheKiB = 65_536

    /// Reads all rows from `fd` and applies them to `store`.
    public func run(fd: Int32, into store: TokenStoreWriter) throws(StoreError) -> ImportReport {
        var reader = CSVReader(fd: fd)
        let prefix = reader.peekPrefix(4096)
        let firstLine = prefix.prefix(while: { $0 != 0x0A })
        if firstLine.contains(0x09) && !firstLine.contains(UInt8(ascii: ",")) {
            reader.separator = 0x09
        }
        let connection = store.connection
        let now = Int64(time(nil))
        try connection.execute("PRAGMA cache_size = -\(options.cacheKiB)")
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            try store.createSchemaIfNeeded()
            let generation = (Int64(try store.meta("import_generation") ?? "0") ?? 0) + 1
            try store.setMeta("import_generation", String(generation))
            let before = try store.count()
            var report = try load(&reader, store: store, now: now, generation: generation)
            report.rowsBefore = before
            if options.replace && report.syntaxError == nil {
                try connection.execute("DELETE FROM tokens WHERE seen_in != \(generation)")
                report.removed = connection.changes
                report.refusal = Self.replaceRefusal(report, limit: options.maxRemove)
            }
            let after = try store.count()
            let changed = Int(try connection.integer("SELECT count(*) FROM tokens WHERE changed_in = \(generation)") ?? 0)
            report.added = after - before + report.removed
            report.updated = changed - report.added
            report.unchanged -= changed
            let refused = report.isRefused(skipInvalid: options.skipInvalid)
            if refused || options.dryRun {
                try connection.execute("ROLLBACK")
            } else {
                try store.setMeta("last_import_time", String(now))
                try store.setMeta("last_import_source", options.source)
                try connection.execute("COMMIT")
                store.schemaCommitted()
                report.committed = true
                store.checkpoint()
            }
            return report
        } catch {
            store.rollBackAfterFailure()
            throw error
        }
    }

    /// Streams the rows into the store. Until the caller corrects it, `unchanged` counts every
    /// row stored; problems and duplicates are recorded as they are met.
    private func load(_ reader: inout CSVReader, store: TokenStoreWriter, now: Int64, generation: Int64)
        throws(StoreError) -> ImportReport
    {
        var report = ImportReport()
        let upsert = try store.makeUpsert()
        let earlier = try store.connection.prepare("SELECT token, seen_line FROM tokens WHERE number = ?1")
        var columns: (number: Int, token: Int) = (0, 1)
        var first = true
        var records = 0
        while true {
            let line = reader.line
            let fields: [[UInt8]]
            do {
                guard let next = try reader.next() else { break }
                fields = next
                records += 1
                if records & (Self.progressInterval - 1) == 0, let progress = options.progress { progress(records) }
            } catch {
                // The rest of the file cannot be read: with --replace, going on would remove
                // every row after this line.
                report.syntaxError = ImportProblem(line: error.line, reason: error.reason)
                break
            }
            if fields.count == 1 && fields[0].isEmpty { continue }  // blank line
            if first {
                first = false
                if let header = Self.header(fields) {
                    columns = header
                    continue
                }
            }
            report.rows += 1
            guard fields.count == 2 else {
                report.problems.append(ImportProblem(line: line, reason: "expected 2 columns, found \(fields.count)"))
                continue
            }
            let key: String
            do {
                key = try normaliser.normalise(String(decoding: fields[columns.number], as: UTF8.self)).key
            } catch {
                report.problems.append(ImportProblem(line: line, reason: "invalid number: \(error.message)"))
                continue
            }
            let tokenBytes = fields[columns.token]
            if let reason = Self.tokenProblem(tokenBytes) {
                report.problems.append(ImportProblem(line: line, reason: reason))
                continue
            }
            let token = String(decoding: tokenBytes, as: UTF8.self)
            if try upsert(key: key, token: token, now: now, generation: generation, line: line) {
                report.unchanged += 1
                continue
            }
            // Listed before in this file: harmless if the token is the same, a conflict if not.
            defer { earlier.reset() }
            try earlier.bind(key, at: 1)
            _ = try earlier.step()
            if earlier.text(0) == token {
                report.unchanged += 1
                report.duplicates += 1
            } else {
                report.problems.append(
                    ImportProblem(
                        line: line, reason: "conflict: same number as line \(earlier.int64(1)) with a different token"))
            }
        }
        if options.skipInvalid { report.skipped = report.problems.count }
        return report
    }

    /// Why a `--replace` that would leave `report` must not go ahead, or nil: a file without
    /// data rows (a CRM export that failed after its header) would empty the store, and more
    /// removals than `limit` usually mean the wrong file or a truncated one.
    static func replaceRefusal(_ report: ImportReport, limit: RemovalLimit) -> String? {
        if report.rows == 0 && report.rowsBefore > 0 {
            return "the file has no data rows; --replace would remove all \(report.rowsBefore) rows of the store"
        }
        if !limit.allows(removing: report.removed, of: report.rowsBefore) {
            return "--replace would remove \(report.removed) of the store's \(report.rowsBefore) rows, more than --max-remove \(limit) allows; give --max-remove 100% (or a larger count) if that is intended"
        }
        return nil
    }

    /// Column positions if `fields` is a header naming `number` and `customer_token` (or `token`).
    static func header(_ fields: [[UInt8]]) -> (number: Int, token: Int)? {
        let names = fields.map { String(decoding: $0, as: UTF8.self).lowercased().trimmingSpaces() }
        guard names.count == 2,
            let number = names.firstIndex(where: { $0 == "number" || $0 == "phone" }),
            let token = names.firstIndex(where: { $0 == "customer_token" || $0 == "token" })
        else { return nil }
        return (number, token)
    }

    /// Why `token` cannot be stored, or nil if it can.
    static func tokenProblem(_ token: [UInt8]) -> String? {
        if token.isEmpty { return "empty token" }
        if token.count > maxTokenBytes { return "token longer than \(maxTokenBytes) bytes" }
        if token.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "token contains control characters" }
        var iterator = token.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return nil
            case .error: return "token is not valid UTF-8"
            }
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " })
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.reversed())
        return String(out)
    }
}
