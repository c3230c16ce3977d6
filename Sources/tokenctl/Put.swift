import ArgumentParser
import Glibc
import TokenStore

extension TokenCtl {
    /// `tokenctl put NUMBER TOKEN`.
    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store one token for a number (insert or update).",
            discussion: """
                The number is normalised and the token checked by the same rules as import (not \
                empty, at most 255 bytes, no control characters). Prints `added`, `updated` or \
                `unchanged`. A token the responder minted for the number is replaced (`updated`). \
                Waits for a running import to finish (up to 30 s) rather than failing; the responder \
                sees the change on its next request (within 20 ms under continuous load).

                Examples:
                  tokenctl --store tokens.db put 13800138000 cust-0001
                  tokenctl --store tokens.db put '+86 10 1234 5678' cust-beijing
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var numbers: NumberOptions

        @Argument(help: "The phone number, in any form import accepts.")
        var number: String

        @Argument(help: "The customer token.")
        var token: String

        func run() throws {
            let key = try numbers.key(for: number)
            if let problem = TokenRules.problem(with: token) {
                throw ValidationError("invalid token: \(problem)")
            }
            let store = try options.backend().openWriter(create: true, schemaWithFirstWrite: false)
            print(try store.put(key: key, token: token, now: Int64(time(nil))).rawValue)
        }
    }
}
