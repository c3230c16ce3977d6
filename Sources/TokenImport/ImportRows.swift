import TokenCore
import TokenStore

/// Where the rows of one import go, one by one, whatever they were read from (CSV text or a
/// worksheet): picks the columns, normalises the numbers, checks the tokens, and streams the
/// rows into the store's import session. Problems are recorded with the line (or worksheet
/// row) the record starts on.
public struct ImportRows {
    let importer: TokenImporter
    let session: any ImportSession
    let rowsMayBeShort: Bool
    var report = ImportReport()
    /// Numbers handed to the session.
    var added = 0
    private var records = 0
    private var first = true
    private var defaultColumns: (number: Int, token: Int) = (0, 1)
    private var resolved: ResolvedColumns?
    private let columns: ImportColumns
    private let progress: (@Sendable (_ records: Int, _ position: Int) -> Void)?

    init(importer: TokenImporter, session: any ImportSession, rowsMayBeShort: Bool) {
        self.importer = importer
        self.session = session
        self.rowsMayBeShort = rowsMayBeShort
        columns = importer.options.columns
        progress = importer.options.progress
    }

    /// Takes one record: `fields` as UTF-8 bytes, `line` where it starts (1-based), `unreadable`
    /// the cells that could not be read as text, by 0-based column, with why (a number cell that
    /// lost digits), `position` how far into the input it ends (for progress). Returns false when
    /// the rest of the input is not wanted (the column flags do not fit the header).
    public mutating func add(
        _ fields: [[UInt8]], line: Int, unreadable: [Int: String] = [:], position: Int
    ) throws(StoreError) -> Bool {
        records += 1
        if records & (TokenImporter.progressInterval - 1) == 0, let progress {
            progress(records, position)
        }
        if fields.count == 1 && fields[0].isEmpty { return true }  // blank line
        if columns.isDefault {
            return try addDefault(fields, line: line)
        }
        if fields.allSatisfy(\.isEmpty) { return true }  // an empty spreadsheet row: ,,,,
        if first {
            first = false
            let cells = fields.map { String(decoding: $0, as: UTF8.self) }
            if columns.needsHeader || !holdsNumber(cells, columns) {
                switch columns.resolve(header: cells) {
                case .success(let found):
                    resolved = found
                    return true
                case .failure(let error):
                    report.refusal = error.description
                    return false
                }
            }
            switch columns.resolve(header: nil) {
            case .success(let found): resolved = found
            case .failure(let error):
                report.refusal = error.description
                return false
            }
        }
        guard let resolved else { return false }
        report.rows += 1
        if let problem = rowProblem(fields, resolved) {
            report.problems.append(ImportProblem(line: line, reason: problem))
            return true
        }
        func cell(_ i: Int) -> [UInt8] { i < fields.count ? fields[i] : [] }
        if let reason = unreadable[resolved.token] {
            report.problems.append(ImportProblem(line: line, reason: "token: \(reason)"))
            return true
        }
        let tokenBytes = cell(resolved.token)
        if let reason = TokenRules.problem(with: tokenBytes) {
            report.problems.append(ImportProblem(line: line, reason: reason))
            return true
        }
        var keys: [String] = []
        var ranges = 0
        for (i, label) in zip(resolved.numbers, resolved.labels) {
            if let reason = unreadable[i] {
                report.problems.append(ImportProblem(line: line, reason: "\(label): \(reason)"))
                return true
            }
            let written = trimmedCell(String(decoding: cell(i), as: UTF8.self))
            if written.isEmpty { continue }
            do {
                let number = try importer.normaliser.normalise(written)
                if number.isRange { ranges += 1 }
                if !keys.contains(number.key) { keys.append(number.key) }
            } catch {
                report.problems.append(
                    ImportProblem(line: line, reason: "invalid number in \(label): \(error.message)"))
                return true
            }
        }
        if keys.isEmpty {
            report.withoutNumber += 1
            return true
        }
        let token = String(decoding: tokenBytes, as: UTF8.self)
        for key in keys {
            try session.add(key: key, token: token, line: line)
            added += 1
        }
        for _ in 0..<ranges { TokenImporter.noteRange(line: line, in: &report) }
        return true
    }

    /// Why a row does not have the header's shape, or nil. A worksheet row may end early
    /// (its empty cells are not written); a CSV row must have the header's column count.
    private func rowProblem(_ fields: [[UInt8]], _ resolved: ResolvedColumns) -> String? {
        if rowsMayBeShort { return nil }
        if let width = resolved.width {
            return fields.count == width ? nil : "expected \(width) columns like the header, found \(fields.count)"
        }
        let needed = (resolved.numbers + [resolved.token]).max()! + 1
        return fields.count >= needed ? nil : "expected at least \(needed) columns, found \(fields.count)"
    }

    /// True when one of the number columns given by position holds a valid number: the first
    /// row is then data, not a header.
    private func holdsNumber(_ cells: [String], _ columns: ImportColumns) -> Bool {
        columns.numbers.contains { reference in
            guard case .position(let n) = reference, n <= cells.count else { return false }
            return (try? importer.normaliser.normalise(trimmedCell(cells[n - 1]))) != nil
        }
    }

    /// Today's layout: a `number,customer_token` header (either order) or none, two columns.
    private mutating func addDefault(_ fields: [[UInt8]], line: Int) throws(StoreError) -> Bool {
        if first {
            first = false
            if let header = TokenImporter.header(fields) {
                defaultColumns = header
                return true
            }
        }
        report.rows += 1
        guard fields.count == 2 else {
            let hint = fields.count > 2 ? " (pick them with --number-column and --token-column)" : ""
            report.problems.append(
                ImportProblem(line: line, reason: "expected 2 columns, found \(fields.count)\(hint)"))
            return true
        }
        let number: NormalisedNumber
        do {
            number = try importer.normaliser.normalise(String(decoding: fields[defaultColumns.number], as: UTF8.self))
        } catch {
            report.problems.append(ImportProblem(line: line, reason: "invalid number: \(error.message)"))
            return true
        }
        let tokenBytes = fields[defaultColumns.token]
        if let reason = TokenRules.problem(with: tokenBytes) {
            report.problems.append(ImportProblem(line: line, reason: reason))
            return true
        }
        try session.add(key: number.key, token: String(decoding: tokenBytes, as: UTF8.self), line: line)
        added += 1
        if number.isRange { TokenImporter.noteRange(line: line, in: &report) }
        return true
    }
}
