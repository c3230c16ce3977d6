import ArgumentParser
import Glibc
import TokenCore
import TokenStore

extension TokenCtl {
    /// `tokenctl import FILE|-`.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load number,customer_token rows from a CSV or TSV file into the store.",
            discussion: """
                The file has a header `number,customer_token` (or no header, with the number first). \
                Numbers may be written in any form; each is normalised to its canonical key. \
                Tab-separated files are recognised by their first line.

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
                problems: the first 20 as {"line": N, "reason": "..."}. Problems are then not \
                repeated on standard error; the exit status is the same.

                A number written as a range of lines, such as 0512-6234 5678～9 or ~9, is stored under \
                its first number only; the report says how many rows were ranges and on which lines \
                (the first 20): on standard error, or in --json as ranges and range_lines. Labels \
                such as 手机：, 电话: or Tel before a number are dropped; a number that cannot be \
                dialled (unknown area code, wrong length for its area, unallocated mobile range) \
                is an invalid row, with its line named.

                On a terminal, standard error shows how many rows have been read, every 65536 rows.

                Examples:
                  tokenctl --store tokens.db import customers.csv
                  tokenctl --store tokens.db import --replace --dry-run customers.csv
                  tokenctl --store tokens.db import --replace --max-remove 100% customers.csv
                  crm-export | tokenctl --store tokens.db import -
                  tokenctl --store tokens.db import --json customers.csv | jq .added
                """)

        @OptionGroup var options: StoreOptions

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

        @Argument(help: "CSV or TSV file, or - for standard input.")
        var file: String

        /// Problems listed on standard error (or in --json) before "… and N more".
        static let listedProblems = 20

        func validate() throws {
            guard RemovalLimit(maxRemove) != nil else {
                throw ValidationError(
                    "--max-remove must be a row count like 5000 or a percentage like 50%, got '\(maxRemove)'")
            }
        }

        func run() throws {
            let backend = try options.backend()
            var importOptions = TokenImporter.Options()
            importOptions.replace = replace
            importOptions.dryRun = dryRun
            importOptions.skipInvalid = skipInvalid
            importOptions.maxRemove = RemovalLimit(maxRemove) ?? .default
            importOptions.source = file
            let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ValidationError("cannot read \(file): \(String(cString: strerror(errno)))")
            }
            defer { if fd != 0 { close(fd) } }
            let progress = ImportProgress.forTerminal()
            if let progress { importOptions.progress = { progress.update($0) } }
            let store = try backend.openWriter(create: true, schemaWithFirstWrite: true)
            let importer = TokenImporter(normaliser: try options.normaliser(), options: importOptions)
            let report: ImportReport
            do {
                report = try importer.run(fd: fd, into: store)
                progress?.finish()
            } catch {
                progress?.finish()
                throw error
            }
            let refused = report.isRefused(skipInvalid: skipInvalid)
            if json {
                print(Self.json(report, dryRun: dryRun))
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
            print(
                "\(verb): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.removed) removed, \(report.skipped) skipped"
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

        /// The `--json` summary.
        static func json(_ report: ImportReport, dryRun: Bool) -> String {
            var object = JSONObjectWriter()
            object.add("added", report.added)
            object.add("updated", report.updated)
            object.add("unchanged", report.unchanged)
            object.add("removed", report.removed)
            object.add("skipped", report.skipped)
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
