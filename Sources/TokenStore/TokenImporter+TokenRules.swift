extension TokenImporter {
    /// Why `token` cannot be stored, or nil if it can: the rule every import row follows (not
    /// empty, at most ``maxTokenBytes`` bytes, no control characters, valid UTF-8), for `put`
    /// and `verify`. The reason never repeats the token.
    public static func problem(withToken token: String) -> String? {
        tokenProblem(Array(token.utf8))
    }
}
