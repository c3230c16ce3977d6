import ArgumentParser
import TokenStore

extension TokenCtl {
    /// `tokenctl delete NUMBER`.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the token stored for a number (exit 1 if there is none).",
            discussion: """
                The number is normalised first, as for get. Prints `deleted`; if the store has no \
                token for the number, says so on standard error and exits 1. The responder answers \
                as for an unknown number from its next request on (within 20 ms under load).

                Examples:
                  tokenctl --store tokens.db delete 13800138000
                  tokenctl --store tokens.db delete '+86 138-0013-8000' || echo 'was not there'
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var numbers: NumberOptions

        @Argument(help: "The phone number.")
        var number: String

        func run() throws {
            let key = try numbers.key(for: number)
            // Deleting from a store that is not there is an error, not a new empty store.
            let store = try options.backend().openWriter(create: false, schemaWithFirstWrite: false)
            guard try store.delete(key: key) else {
                printError("no token stored for that number")
                throw ExitCode(1)
            }
            print("deleted")
        }
    }
}
