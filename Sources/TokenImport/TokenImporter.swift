import Glibc
import TokenCore
import TokenStore

/// A problem with one line of an import file.
public struct ImportProblem: Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the file.
    public var line: Int
    /// What is wrong, without the number or token themselves.
    public var reason: String

    /// A problem at `line`.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

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
    /// Rows whose number was a range of lines (`0512-6234 5678～9`): only its first number
    /// was taken (see ``NormalisedNumber/isRange``).
    public var ranges = 0
    /// The lines of the first ``TokenImporter/listedRanges`` such rows, in file order.
    public var rangeLines: [Int] = []
    /// Every invalid or conflicting line.
    public var problems: [ImportProblem] = []
    /// Data rows in the file (header and blank lines not counted).
    public var rows = 0
    /// Rows the store held before the import.
    public var rowsBefore = 0
    /// A malformed file (unbalanced quote, text after a closing quote…): the import is refused
    /// whatever the options, since the rest of the file cannot be read.
    public var syntaxError: ImportProblem?
    /// Why the import was refused as a whole (column flags that do not fit the header, a
    /// `--replace` without data rows or with more removals than allowed), nil otherwise. The counts above are still what the import would have done.
    public var refusal: String?
    /// True when the store was changed (false for a dry run or a refused import).
    public var committed = false
    /// Data rows whose number columns were all empty (only with column flags): left out.
    public var withoutNumber = 0

    /// An empty report (nothing read yet).
    public init() {}

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
/// every such line is reported. Rows stream into the store's import transaction
/// (``ImportSession``), which keeps no copy of the file: memory stays flat however long it is.
/// Reading the file, columns, normalising and the token rules are here; the engine only stores.
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
        /// Page cache of the import's connection, in KiB (see ``ImportSessionOptions/cacheKiB``).
        var cacheKiB = ImportSessionOptions.defaultCacheKiB
        /// Where the rows came from, recorded in the store's metadata.
        public var source = "-"
        /// Which columns hold the numbers and the token (`--number-column`, `--token-column`).
        public var columns = ImportColumns()
        /// The encoding of a CSV or TSV file (`--encoding`).
        public var encoding = InputEncoding.auto
        /// Called once when ``InputEncoding/auto`` has decided, with the encoding it chose.
        public var encodingDetected: (@Sendable (InputEncoding) -> Void)?
        /// Called with the number of records read so far and the position in the input (bytes of
        /// a CSV file, the row of a worksheet), every ``TokenImporter/progressInterval`` records
        /// (not at all for shorter files), on the importing thread; nil for none.
        public var progress: (@Sendable (_ records: Int, _ position: Int) -> Void)?
        /// Creates default options: merge, commit, fail on any invalid row.
        public init() {}
    }

    /// How many lines of range rows ``ImportReport/rangeLines`` keeps.
    public static let listedRanges = 20

    /// How many records pass between two calls of ``Options/progress``.
    public static let progressInterval = 1 << 10

    let normaliser: PhoneNumberNormaliser
    let options: Options

    /// Creates an importer.
    public init(normaliser: PhoneNumberNormaliser, options: Options) {
        self.normaliser = normaliser
        self.options = options
    }

    /// Reads all rows of the CSV or TSV text on `fd` (after `prefix`, bytes already read from it)
    /// and applies them to `store`, in one import transaction.
    public func run(fd: Int32, prefix: [UInt8] = [], into store: any StoreWriter) throws(StoreError) -> ImportReport {
        let input = InputDecoder(fd: fd, encoding: options.encoding, prefix: prefix)
        input.onDetect = options.encodingDetected
        var reader = CSVReader(input: input)
        return try run(into: store, rowsMayBeShort: false) {
            (rows: inout ImportRows) throws(StoreError) -> ImportProblem? in
            do throws(CSVReader.SyntaxError) {
                let prefix = try reader.peekPrefix(4096)
                let firstLine = prefix.prefix(while: { $0 != 0x0A })
                if firstLine.contains(0x09) && !firstLine.contains(UInt8(ascii: ",")) {
                    reader.separator = 0x09
                }
            } catch {
                return ImportProblem(line: error.line, reason: error.reason)
            }
            while true {
                let line = reader.line
                let fields: [[UInt8]]?
                do throws(CSVReader.SyntaxError) {
                    fields = try reader.next()
                } catch {
                    return ImportProblem(line: error.line, reason: error.reason)
                }
                guard let fields else { return nil }
                guard try rows.add(fields, line: line, position: reader.bytesRead) else { return nil }
            }
        }
    }

    /// Applies the rows `feed` hands to ``ImportRows/add(_:line:unreadable:position:)`` to
    /// `store`, in one import transaction. `feed` returns nil at the end of the input, or the
    /// place the input broke (the import is then refused: the rest cannot be read).
    /// `rowsMayBeShort`: a row without its last cells has them empty (a worksheet), rather than
    /// being a problem (a CSV row shorter than its header).
    public func run(
        into store: any StoreWriter, rowsMayBeShort: Bool = false,
        feed: (inout ImportRows) throws(StoreError) -> ImportProblem?
    ) throws(StoreError) -> ImportReport {
        var sessionOptions = ImportSessionOptions(now: Int64(time(nil)))
        sessionOptions.cacheKiB = options.cacheKiB
        let session = try store.beginImport(options: sessionOptions)
        do throws(StoreError) {
            var rows = ImportRows(importer: self, session: session, rowsMayBeShort: rowsMayBeShort)
            if let broken = try feed(&rows) { rows.report.syntaxError = broken }
            var report = try finish(rows, session: session)
            report.rowsBefore = session.rowsBefore
            if options.replace && report.syntaxError == nil && report.refusal == nil {
                report.removed = try session.removeUnlisted()
                report.refusal = Self.replaceRefusal(report, limit: options.maxRemove)
            }
            let (after, changed) = try session.tally()
            report.added = after - report.rowsBefore + report.removed
            report.updated = changed - report.added
            report.unchanged -= changed
            if report.isRefused(skipInvalid: options.skipInvalid) || options.dryRun {
                try session.rollBack()
            } else {
                try session.commit(source: options.source)
                report.committed = true
            }
            return report
        } catch {
            session.abandon()
            throw error
        }
    }

    /// The report once every row is in. Until the caller corrects it, `unchanged` counts every
    /// number stored; problems (in file order) and duplicates are recorded.
    private func finish(_ rows: ImportRows, session: any ImportSession) throws(StoreError) -> ImportReport {
        var report = rows.report
        // A row listed before in this file is harmless if the token is the same, a conflict if not.
        var conflicts: [ImportProblem] = []
        for repeated in try session.repeatedKeys() {
            if repeated.sameToken {
                report.duplicates += 1
            } else {
                conflicts.append(
                    ImportProblem(
                        line: repeated.line,
                        reason: "conflict: same number as line \(repeated.earlierLine) with a different token"))
            }
        }
        report.unchanged = rows.added - conflicts.count
        if !conflicts.isEmpty {
            report.problems = Self.merged(report.problems, conflicts)
        }
        if options.skipInvalid { report.skipped = report.problems.count }
        return report
    }

    /// Counts a row whose number was a range, keeping the first lines.
    static func noteRange(line: Int, in report: inout ImportReport) {
        report.ranges += 1
        if report.rangeLines.count < listedRanges { report.rangeLines.append(line) }
    }

    /// Two lists of problems, each in file order, as one in file order.
    static func merged(_ a: [ImportProblem], _ b: [ImportProblem]) -> [ImportProblem] {
        var out: [ImportProblem] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].line <= b[j].line) {
                out.append(a[i])
                i += 1
            } else {
                out.append(b[j])
                j += 1
            }
        }
        return out
    }

    /// Why a `--replace` that would leave `report` must not go ahead, or nil: a file without
    /// data rows (a CRM export that failed after its header) would empty the store, and more
    /// removals than `limit` usually mean the wrong file or a truncated one.
    static func replaceRefusal(_ report: ImportReport, limit: RemovalLimit) -> String? {
        if report.rows == 0 && report.rowsBefore > 0 {
            return "the file has no data rows; --replace would remove all \(report.rowsBefore) rows of the store"
        }
        if !limit.allows(removing: report.removed, of: report.rowsBefore) {
            return
                "--replace would remove \(report.removed) of the store's \(report.rowsBefore) rows, more than --max-remove \(limit) allows; give --max-remove 100% (or a larger count) if that is intended"
        }
        return nil
    }

    /// Column positions if `fields` is a header naming `number` and `customer_token` (or `token`).
    static func header(_ fields: [[UInt8]]) -> (number: Int, token: Int)? {
        let names = fields.map { String(decoding: $0, as: UTF8.self).trimmingASCIIWhitespace().lowercased() }
        guard names.count == 2,
            let number = names.firstIndex(where: { $0 == "number" || $0 == "phone" }),
            let token = names.firstIndex(where: { $0 == "customer_token" || $0 == "token" })
        else { return nil }
        return (number, token)
    }
}
