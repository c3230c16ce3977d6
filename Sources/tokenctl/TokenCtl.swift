import ArgumentParser
import CommandSupport

/// `tokenctl`: loads and edits the token store while the responder keeps serving.
@main
struct TokenCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenctl",
        abstract: "Administer the token store that token-responder answers from.",
        discussion: """
            The store is one SQLite file (WAL mode), or a PostgreSQL database when --store is a \
            postgresql:// URI. Changes are atomic and the responder sees them on its next request \
            (within 20 ms under continuous load), with no restart.

            Examples:
              tokenctl --store /var/lib/udesk-token/tokens.db import customers.csv
              tokenctl --store /var/lib/udesk-token/tokens.db get 13800138000
              tokenctl --store /var/lib/udesk-token/tokens.db put 13800138000 cust-0001
              tokenctl --store /var/lib/udesk-token/tokens.db export tokens.csv
              TOKEN_STORE=/var/lib/udesk-token/tokens.db tokenctl verify
              tokenctl --store 'postgresql://udesk_admin@db1,db2/udesk?target_session_attrs=read-write' import crm.csv
            """,
        version: ProductVersion.current,
        subcommands: [
            Import.self, Export.self, Get.self, Put.self, Delete.self, Stats.self, Verify.self, Backup.self, Probe.self,
        ])

    /// Declared here too so `tokenctl --store PATH <subcommand>` works: subcommands declaring
    /// the same option group inherit what was given before the subcommand name.
    @OptionGroup var options: StoreOptions
}

/// The option every subcommand shares.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The token store: a SQLite file, created by the first import, or a PostgreSQL URI (postgresql://..., passed to libpq as in psql; the schema is created by the first import). (env: TOKEN_STORE)"
    )
    var store: String?
}

/// How numbers are read, for the subcommands that read or check numbers (import, get, put,
/// delete, verify); not offered where it would do nothing (stats, backup, export, probe has its own).
struct NumberOptions: ParsableArguments {
    @Option(
        name: .long, help: "Country calling code of numbers written without one. (env: TOKEN_COUNTRY_CODE, default: 86)"
    )
    var countryCode: Int?
}
