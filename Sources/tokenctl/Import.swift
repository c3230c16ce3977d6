import ArgumentParser
import Glibc
import TokenCore
import TokenImport
import TokenStore
import WorkbookReader

extension TokenCtl {
    /// `tokenctl import FILE|-`.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load number,customer_token rows from a CSV or TSV file or an .xlsx workbook into the store.",
            discussion: """
                The file has a header `number,customer_token` (or no header, with the number first). \
                Numbers may be written in any form; each is normalised to its canonical key. \
                Tab-separated files are recognised by their first line.

                A CRM export with other columns: name the columns. --number-column (repeatable: \
                every column named is a number of the row's customer, empty cells are skipped) and \
                --token-column take a header name, matched exactly after trimming spaces, or a \
                position counting from 1. With a name the first row is the header; with positions \
                only, the first row is a header unless a number column holds a valid number. A \
                column the header lacks refuses the import and lists the header. Without \
                --token-column the header's customer_token (or token) column is used; without \
                --number-column, its number (or phone) column. Rows whose number cells are all \
                empty are left out and counted. A CSV row with more or fewer columns than the \
                header is a problem of that line. A row is stored whole or not at all: one invalid \
                number in it makes it a problem; counts are of numbers, so a row with a mobile and \
                a landline counts twice. Lines are those of the file where a record starts (a \
                quoted cell may span lines); in a workbook they are the sheet's row numbers.

                CSV and TSV text is read as UTF-8 or GB18030 (--encoding; by default UTF-8 when it \
                is valid UTF-8, else GB18030, which standard error then says). A UTF-8 byte order \
                mark is dropped. .xlsx workbooks are read directly: the first sheet, or --sheet. A \
                number cell is read back as its digits (13800138000 stored as a number is fine); \
                one whose digits were lost (more than 15 digits, or an exponent form like \
                1.38001E+10) is a problem of its row: format the column as text. Other formats \
                (.xls, .xlsb, .ods, .numbers, UTF-16 text, other zip archives) are refused, saying \
                what to save the file as. A worksheet is uncompressed into $TMPDIR (default /tmp) \
                while it is read.

                All or nothing: one invalid row, or two rows whose numbers are the same customer with \
                different tokens, refuses the whole import and lists the bad lines (exit 1), unless \
                --skip-invalid is given. A file that cannot be read as CSV (an unbalanced quote, text \
                after a closing quote) is refused whatever the flags: --skip-invalid leaves out rows \
                with an invalid number or token, never the rest of the file. The first 20 problems \
                are listed, then how many more there are. The responder keeps answering during the \
                import and sees the new rows once it commits.

                --replace refuses, changing nothing (exit 1), when the file has no data rows (an export \
                that failed after its header) or when it would remove more of the store's rows than \
                --max-remove allows (default 50%); the message says how many rows would go. \
                --dry-run reports the same refusal.

                With --json, standard output is one JSON object instead of the summary line, with \
                the counts added, updated, unchanged, removed, skipped and ranges, range_lines (the \
                lines of the first 20 ranges), the booleans committed \
                and dry_run, refused (null, or why the whole import was refused), problem_count, and \
                problems: the first 20 as {"line": N, "reason": "..."}; with column flags also \
                without_number. Problems are then not repeated on standard error; the exit status \
                is the same.

                A number written as a range of lines, such as 0512-6234 5678～9 or ~9, is stored under \
                its first number only; the report says how many rows were ranges and on which lines \
                (the first 20): on standard error, or in --json as ranges and range_lines. Labels \
                such as 手机：, 电话: or Tel before a number are dropped; a number that cannot be \
                dialled (unknown area code, wrong length for its area, unallocated mobile range) \
                is an invalid row, with its line named.

                On a terminal, standard error shows the rows read, the percent of the file (when its \
                size is known) and the rate, once a second; with --json, or when standard error is \
                not a terminal, nothing is shown until the report.

                A file of - reads standard input (CSV or TSV only: a workbook needs its file \
                name); the store records the import's source as `-`.

                Examples:
                  tokenctl --store tokens.db import customers.csv
                  tokenctl --store tokens.db import --replace --dry-run customers.csv
                  tokenctl --store tokens.db import --replace --max-remove 100% customers.csv
                  crm-export | tokenctl --store tokens.db import -
                  psql -c "\\copy (SELECT phone, token FROM customers) to stdout csv header" | tokenctl import -
                  tokenctl --store tokens.db import --number-column 手机号 --number-column 座机 --token-column 客户编号 crm.csv
                  tokenctl --store tokens.db import --sheet 客户 --number-column 手机 --token-column 3 crm.xlsx
                  tokenctl --store tokens.db import --encoding gb18030 crm-gbk.csv
                  tokenctl --store tokens.db import --json customers.csv | jq .added
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var numbers: NumberOptions

        @Flag(help: "Make the store hold exactly the file's rows: numbers not in the file are deleted.")
        var replace = false

        @Flag(help: "Check the file and report what would change, without changing the store.")
        var dryRun = false

        @Flag(help: "Leave rows with an invalid number or token out (and list them) instead of refusing the import.")
        var skipInvalid = false

        @Option(
            help: ArgumentHelp(
                "With --replace: most of the store's rows the import may remove, as a count (5000) or a percentage of the store (50%); more refuses the import. 100% allows anything.",
                valueName: "N|P%"))
        var maxRemove: String = RemovalLimit.default.description

        @Flag(help: "Print the summary as one JSON object (problems included) on standard output.")
        var json = false

        @Option(
            help: ArgumentHelp(
                "A column holding the customer's numbers: its header name (trimmed) or its position from 1. Repeat it for a mobile and a landline column; empty cells are skipped.",
                valueName: "NAME|N"))
        var numberColumn: [String] = []

        @Option(
            help: ArgumentHelp(
                "The column holding the customer_token: its header name (trimmed) or its position from 1.",
                valueName: "NAME|N"))
        var tokenColumn: String?

        @Option(
            help: ArgumentHelp(
                "Encoding of a CSV or TSV file: utf-8, gb18030, or auto (UTF-8 when valid, else GB18030, said on standard error).",
                valueName: "utf-8|gb18030|auto"))
        var encoding: InputEncoding = .auto

        @Option(help: ArgumentHelp("The sheet of an .xlsx workbook to read (default: the first).", valueName: "NAME"))
        var sheet: String?

        @Argument(help: "CSV or TSV file or .xlsx workbook, or - for standard input (CSV or TSV).")
        var file: String

        /// Problems listed on standard error (or in --json) before "… and N more".
        static let listedProblems = 20

        func validate() throws {
            guard RemovalLimit(maxRemove) != nil else {
                throw ValidationError(
                    "--max-remove must be a row count like 5000 or a percentage like 50%, got '\(maxRemove)'")
            }
            for column in numberColumn + (tokenColumn.map { [$0] } ?? []) where ColumnReference(column) == nil {
                throw ValidationError("a column is a header name or a position from 1, got '\(column)'")
            }
        }

        /// The column flags as the importer takes them.
        var columns: ImportColumns {
            ImportColumns(
                numbers: numberColumn.compactMap(ColumnReference.init), token: tokenColumn.flatMap(ColumnReference.init)
            )
        }

        func run() throws {
            let backend = try options.backend()
            var importOptions = TokenImporter.Options()
            importOptions.replace = replace
            importOptions.dryRun = dryRun
            importOptions.skipInvalid = skipInvalid
            importOptions.maxRemove = RemovalLimit(maxRemove) ?? .default
            importOptions.source = file
            importOptions.columns = columns
            importOptions.encoding = encoding
            let file = self.file
            importOptions.encodingDetected = { detected in
                if detected == .gb18030 {
                    printError("\(file): not valid UTF-8, reading it as GB18030 (give --encoding to choose)")
                }
            }
            let input = try InputFile(file)
            defer { input.close() }
            let format = input.format()
            if case .refused(let why) = format { return try refuse("cannot import \(why)") }
            if format != .xlsx, let sheet {
                return try refuse("--sheet '\(sheet)' is for .xlsx workbooks, and this file is CSV or TSV text")
            }
            var workbook: XLSXWorkbook?
            if format == .xlsx {
                do {
                    workbook = try XLSXWorkbook(path: file)
                } catch {
                    return try refuse("cannot read the workbook: \(error)")
                }
            }
            if let workbook, let sheet, !workbook.sheets.contains(where: { $0.name == sheet }) {
                let names = workbook.sheets.map { "'\($0.name)'" }.joined(separator: ", ")
                return try refuse("no sheet named '\(sheet)' in the workbook: its sheets are \(names)")
            }
            let progress = ImportProgress.forTerminal(quiet: json, total: workbook == nil ? input.size : nil)
            if let progress { importOptions.progress = { progress.update(records: $0, position: $1) } }
            let store = try backend.openWriter(create: true, schemaWithFirstWrite: true)
            let importer = TokenImporter(normaliser: try numbers.normaliser(), options: importOptions)
            let report: ImportReport
            do {
                if let workbook {
                    report = try importer.run(workbook: workbook, sheet: sheet, into: store, progress: progress)
                } else {
                    report = try importer.run(fd: input.fd, prefix: input.prefix, into: store)
                }
                progress?.finish()
            } catch {
                progress?.finish()
                throw error
            }
            let refused = report.isRefused(skipInvalid: skipInvalid)
            if json {
                print(Self.json(report, dryRun: dryRun, columns: !columns.isDefault))
                if refused { throw ExitCode(1) }
                return
            }
            if let syntaxError = report.syntaxError {
                printError("\(file): \(syntaxError); the file cannot be read past it, so nothing was imported")
            }
            for problem in report.problems.prefix(Self.listedProblems) {
                printError("\(file): \(problem)")
            }
            if report.problems.count > Self.listedProblems {
                printError("\(file): … and \(report.problems.count - Self.listedProblems) more")
            }
            if let refusal = report.refusal {
                printError("\(file): refused: \(refusal)")
            }
            if report.ranges > 0 {
                printError("\(file): \(Self.rangeNote(report))")
            }
            let verb =
                report.committed
                ? "imported"
                : (dryRun && !refused
                    ? "dry run, would import" : (dryRun ? "dry run, would be refused" : "refused, nothing changed"))
            let withoutNumber =
                report.withoutNumber > 0
                ? ", \(report.withoutNumber) \(report.withoutNumber == 1 ? "row" : "rows") without a number" : ""
            print(
                "\(verb): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.removed) removed, \(report.skipped) skipped\(withoutNumber)"
            )
            if refused { throw ExitCode(1) }
        }

        /// What the report says about rows whose number was a range.
        static func rangeNote(_ report: ImportReport) -> String {
            let listed = report.rangeLines.map(String.init).joined(separator: ", ")
            let more = report.ranges > report.rangeLines.count ? ", …" : ""
            let rows = report.ranges == 1 ? "1 number was a range" : "\(report.ranges) numbers were ranges"
            let lines = "line\(report.ranges == 1 ? "" : "s") \(listed)\(more)"
            return "\(rows) (\(lines)): only the first number of each range is stored"
        }

        /// Refuses the file before anything is read into the store: the message on standard
        /// error (or as `refused` in the --json object), exit 1.
        func refuse(_ message: String) throws {
            if json {
                var report = ImportReport()
                report.refusal = message
                print(Self.json(report, dryRun: dryRun, columns: !columns.isDefault))
            } else {
                printError("\(file): \(message)")
            }
            throw ExitCode(1)
        }

        /// The `--json` summary (`without_number` only with column flags).
        static func json(_ report: ImportReport, dryRun: Bool, columns: Bool = false) -> String {
            var object = JSONObjectWriter()
            object.add("added", report.added)
            object.add("updated", report.updated)
            object.add("unchanged", report.unchanged)
            object.add("removed", report.removed)
            object.add("skipped", report.skipped)
            if columns { object.add("without_number", report.withoutNumber) }
            object.add("ranges", report.ranges)
            object.add("range_lines", integers: report.rangeLines)
            object.add("committed", report.committed)
            object.add("dry_run", dryRun)
            object.add("refused", report.refusal ?? report.syntaxError.map { "\($0); the file cannot be read past it" })
            let problems = (report.syntaxError.map { [$0] } ?? []) + report.problems
            object.add("problem_count", problems.count)
            object.add(
                "problems",
                objects: problems.prefix(listedProblems).map { problem in
                    var entry = JSONObjectWriter()
                    entry.add("line", problem.line)
                    entry.add("reason", problem.reason)
                    return entry
                })
            return object.text
        }
    }
}
