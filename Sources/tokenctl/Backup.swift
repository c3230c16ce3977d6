import ArgumentParser
import TokenStore

extension TokenCtl {
    /// `tokenctl backup DEST`.
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the store while the responder serves.",
            discussion: """
                Uses SQLite's VACUUM INTO: the copy is one snapshot, compacted, a single file with \
                no write-ahead log, readable by token-responder as it is. It is written next to \
                DEST as DEST.tmp-XXXXXX, fsynced and renamed, so DEST is never half a database; it \
                gets mode 0640. An existing DEST is refused unless --force. Prints DEST and its size.

                From a PostgreSQL store, DEST is a SQLite store with the same rows (tokens, minted \
                flags, times) from one snapshot: a node's --fallback-store, or the seed of a single \
                node.

                Examples:
                  tokenctl --store tokens.db backup /var/backups/tokens-$(date +%F).db
                  tokenctl --store postgresql://udesk_ro@db1,db2/udesk backup --force fallback.db
                  tokenctl --store tokens.db backup --force tokens-latest.db
                """)

        @OptionGroup var options: StoreOptions

        @Flag(help: "Replace DEST if it exists.")
        var force = false

        @Argument(help: "Where to write the copy.")
        var destination: String

        func validate() throws {
            if destination.isEmpty { throw ValidationError("the destination file name is empty") }
        }

        func run() throws {
            let store = try options.backend().openInspector()
            let size = try store.backup(to: destination, overwrite: force)
            print("\(destination): \(size) bytes")
        }
    }
}
