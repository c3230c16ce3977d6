import ArgumentParser
import TokenCore
import TokenStore

extension TokenCtl {
    /// `tokenctl stats`.
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the store's size, row counts, schema version and last import.",
            discussion: """
                Rows, minted rows (tokens the responder made itself), size on disk (database plus \
                write-ahead log), schema version, and when (ISO-8601 UTC) and from which file the \
                last committed import ran. Reads one snapshot; safe while the responder serves.

                With --json, one object with the keys rows, minted_rows, size_bytes (db_bytes plus \
                wal_bytes), db_bytes, wal_bytes, schema_version, last_import_time and \
                last_import_source (both null if no import ever committed).

                Examples:
                  tokenctl --store tokens.db stats
                  tokenctl --store tokens.db stats --json | jq .rows
                """)

        @OptionGroup var options: StoreOptions

        @Flag(help: "Print one JSON object instead of lines.")
        var json = false

        func run() throws {
            let stats = try options.backend().openInspector().statistics()
            let lastTime = stats.lastImportTime.map(UTCTimestamp.iso8601)
            if json {
                var object = JSONObjectWriter()
                object.add("rows", stats.rows)
                object.add("minted_rows", stats.mintedRows)
                object.add("size_bytes", stats.totalBytes)
                object.add("db_bytes", stats.databaseBytes)
                object.add("wal_bytes", stats.walBytes)
                object.add("schema_version", stats.schemaVersion)
                object.add("last_import_time", lastTime)
                object.add("last_import_source", stats.lastImportSource)
                print(object.text)
                return
            }
            print("rows: \(stats.rows)")
            print("minted rows: \(stats.mintedRows)")
            print("size: \(stats.totalBytes) bytes (db \(stats.databaseBytes), wal \(stats.walBytes))")
            print("schema version: \(stats.schemaVersion)")
            print("last import: \(lastTime ?? "never")")
            print("last import source: \(stats.lastImportSource ?? "none")")
        }
    }
}
