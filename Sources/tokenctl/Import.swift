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
                different tokens, refuses the whole import and lists every bad line (exit 1), unless \
                --skip-invalid is given. The responder keeps answering during the import and sees the \
                new rows once it commits.

                With --json, standard output is one JSON object instead of the summary line, with \
                the counts added, updated, unchanged, removed and skipped, the booleans committed \
                and dry_run, and problems: a list of {"line": N, "reason": "..."}. Problems are then \
                not repeated on standard error; the exit status is the same.

                On a terminal, standard error shows how many rows have been read, every 65536 rows.

                Examples:
                  tokenctl --store tokens.db import customers.csv
                  tokenctl --store tokens.db import --replace --dry-run customers.csv
                  crm-export | tokenctl --store tokens.db import -
                  tokenctl --store tokens.db import --json customers.csv | jq .added
                """)

        @OptionGroup var options: StoreOptions

        @Flag(help: "Make the store hold exactly the file's rows: numbers not in the file are deleted.")
        var replace = false

        @Flag(help: "Check the file and report what would change, without changing the store.")
        var dryRun = false

        @Flag(help: "Leave invalid rows out (and list them) instead of refusing the import.")
        var skipInvalid = false

        @Flag(help: "Print the summary as one JSON object (problems included) on standard output.")
        var json = false

        @Argument(help: "CSV or TSV file, or - for standard input.")
        var file: String

        func run() throws {
            let path = try options.storePath()
            var importOptions = TokenImporter.Options()
            importOptions.replace = replace
            importOptions.dryRun = dryRun
            importOptions.skipInvalid = skipInvalid
            importOptions.source = file
            let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ValidationError("cannot read \(file): \(String(cString: strerror(errno)))")
            }
            defer { if fd != 0 { close(fd) } }
            let progress = ImportProgress.forTerminal()
            if let progress { importOptions.progress = { progress.update($0) } }
            let store = try TokenStoreWriter(path: path)
            let importer = TokenImporter(normaliser: try options.normaliser(), options: importOptions)
            let report: ImportReport
            do {
                report = try importer.run(fd: fd, into: store)
                progress?.finish()
            } catch {
                progress?.finish()
                throw error
            }
            if json {
                print(Self.json(report, dryRun: dryRun))
                if !report.problems.isEmpty && !skipInvalid { throw ExitCode(1) }
                return
            }
            for problem in report.problems {
                printError("\(file): \(problem)")
            }
            let verb = report.committed ? "imported" : (dryRun && (report.problems.isEmpty || skipInvalid) ? "dry run, would import" : "refused, nothing changed")
            print(
                "\(verb): \(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, \(report.removed) removed, \(report.skipped) skipped"
            )
            if !report.problems.isEmpty && !skipInvalid {
                throw ExitCode(1)
            }
        }

        /// The `--json` summary.
        static func json(_ report: ImportReport, dryRun: Bool) -> String {
            var object = JSONObjectWriter()
            object.add("added", report.added)
            object.add("updated", report.updated)
            object.add("unchanged", report.unchanged)
            object.add("removed", report.removed)
            object.add("skipped", report.skipped)
            object.add("committed", report.committed)
            object.add("dry_run", dryRun)
            object.add(
                "problems",
                objects: report.problems.map { problem in
                    var entry = JSONObjectWriter()
                    entry.add("line", problem.line)
                    entry.add("reason", problem.reason)
                    return entry
                })
            return object.text
        }
    }
}
