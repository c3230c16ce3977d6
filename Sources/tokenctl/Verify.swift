import ArgumentParser
import TokenStore

extension TokenCtl {
    /// `tokenctl verify`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the store; print each problem and exit 1, or print ok.",
            discussion: """
                Checks SQLite's integrity (PRAGMA integrity_check; on PostgreSQL, that the table \
                has its primary key), that the schema version is the \
                one this tokenctl writes, that every stored key is canonical under the current \
                normaliser (a key that normalises to something else can never be found by the \
                responder), and that every token follows the import rules (not empty, at most 255 \
                bytes, no control characters, valid UTF-8). Reads one snapshot and changes nothing.

                Each problem is one line on standard output: `integrity: ...`, `schema: ...`, \
                `key +86138******00: ...` or `token +86138******00: ...`, keys masked unless \
                --show-keys. Exit status 0 and `ok` when there is none, 1 otherwise. To fix rows: \
                export, correct the file, import --replace it.

                Examples:
                  tokenctl --store tokens.db verify
                  tokenctl --store tokens.db verify --show-keys > problems.txt
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var numbers: NumberOptions

        @Flag(help: "Print keys in full instead of masking their middle digits.")
        var showKeys = false

        func run() throws {
            let store = try options.backend().openInspector()
            let verifier = StoreVerifier(normaliser: try numbers.normaliser())
            let found = try verifier.run(store) { problem in
                print(problem.line(showingKey: showKeys))
            }
            guard found == 0 else {
                print("\(found) \(found == 1 ? "problem" : "problems")")
                throw ExitCode(1)
            }
            print("ok")
        }
    }
}
