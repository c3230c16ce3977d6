import ArgumentParser
import TokenStore

extension TokenCtl {
    /// `tokenctl get NUMBER`.
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token stored for a number (exit 1 if there is none).",
            discussion: """
                The number may be written in any form the responder accepts; it is normalised first.

                Examples:
                  tokenctl get 13800138000
                  tokenctl get '+86 138-0013-8000'
                  tokenctl get --verbose 010-12345678
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var numbers: NumberOptions

        @Flag(name: .shortAndLong, help: "Also print the canonical key the number normalises to.")
        var verbose = false

        @Argument(help: "The phone number.")
        var number: String

        func run() throws {
            let key = try numbers.key(for: number)
            let store = try options.backend().openInspector()
            if verbose { print("key: \(key)") }
            guard let token = try store.token(forKey: key) else {
                if verbose { print("no token") }
                throw ExitCode(1)
            }
            print(verbose ? "token: \(token)" : token)
        }
    }
}
