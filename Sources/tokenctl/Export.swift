import ArgumentParser
import TokenStore

extension TokenCtl {
    /// `tokenctl export [--minted] [FILE|-]`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the store as number,customer_token CSV, sorted by number.",
            discussion: """
                Every row, as the header `number,customer_token` and one line per number: the \
                canonical key (E.164, `+8613800138000`) and its token, sorted by key, LF line \
                endings, a field quoted (RFC 4180) only if it holds a comma, a quote or a line break. \
                `import --replace` of the file gives back the same numbers and tokens. The rows are \
                one snapshot: an import committing meanwhile is wholly in the export or not at all.

                --minted writes only the tokens the responder minted itself, with a third column \
                `first_seen`: when the row was minted (its updated_at), as ISO-8601 UTC like \
                2024-05-06T07:08:09Z. That file is a report; import does not read three columns.

                A FILE appears complete or not at all: it is written as FILE.tmp-XXXXXX in the same \
                directory (mode 0640), fsynced, then renamed over FILE. Standard output (-, the \
                default) gets the CSV only; for a FILE a one-line summary is printed.

                Examples:
                  tokenctl --store tokens.db export > tokens.csv
                  tokenctl --store tokens.db export /var/backups/tokens-$(date +%F).csv
                  tokenctl --store tokens.db export --minted minted.csv
                  tokenctl --store a.db export | tokenctl --store b.db import --replace -
                """)

        @OptionGroup var options: StoreOptions

        @Flag(help: "Only tokens the responder minted, with a third column first_seen (ISO-8601 UTC).")
        var minted = false

        @Argument(help: "Output file, or - for standard output.")
        var file: String = "-"

        func validate() throws {
            if file.isEmpty { throw ValidationError("the output file name is empty (use - for standard output)") }
        }

        func run() throws {
            let store = try options.backend().openInspector()
            var exportOptions = TokenExporter.Options()
            exportOptions.mintedOnly = minted
            let exporter = TokenExporter(options: exportOptions)
            if file == "-" {
                _ = try exporter.run(from: store, to: BufferedOutput(fd: 1, name: "standard output"))
                return
            }
            let output = try AtomicOutputFile(path: file)
            let rows = try exporter.run(from: store, to: BufferedOutput(fd: output.fd, name: file))
            try output.commit()
            print("exported \(rows) \(rows == 1 ? "row" : "rows") to \(file)")
        }
    }
}
