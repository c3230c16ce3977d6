import Glibc
import TokenStore

extension SQLiteWriter {
    /// Stores `token` for canonical key `key`, in one transaction (waiting for another writer up
    /// to ``busyTimeoutMilliseconds``).
    ///
    /// Like an import row: the token is checked by ``TokenRules`` first (the caller
    /// normalises the number), a minted row becomes an ordinary one, and `updated_at` changes only
    /// when the token does. The import bookkeeping columns are left alone.
    public func put(key: String, token: String, now: Int64 = Int64(time(nil))) throws(StoreError) -> PutOutcome {
        if let problem = TokenRules.problem(with: token) {
            throw StoreError(.invalidToken, "\(path): refused to store an invalid token (\(problem))")
        }
        return try transaction { () throws(StoreError) -> PutOutcome in
            let current = try connection.prepare(
                "SELECT token, minted FROM tokens WHERE number = ?1", persistent: false)
            try current.bind(key, at: 1)
            /// Runs `sql` with ?1 = key, ?2 = token, ?3 = now.
            func store(_ sql: String) throws(StoreError) {
                let statement = try connection.prepare(sql, persistent: false)
                try statement.bind(key, at: 1)
                try statement.bind(token, at: 2)
                try statement.bind(now, at: 3)
                _ = try statement.step()
            }
            guard try current.step() else {
                current.reset()
                try store("INSERT INTO tokens(number, token, minted, updated_at) VALUES(?1, ?2, 0, ?3)")
                return .added
            }
            let same = current.text(0) == token && current.int64(1) == 0
            current.reset()
            if same { return .unchanged }
            try store("UPDATE tokens SET token = ?2, minted = 0, updated_at = ?3 WHERE number = ?1")
            return .updated
        }
    }

    /// Deletes the row for canonical key `key`; false if there was none.
    public func delete(key: String) throws(StoreError) -> Bool {
        try transaction { () throws(StoreError) -> Bool in
            let statement = try connection.prepare("DELETE FROM tokens WHERE number = ?1", persistent: false)
            try statement.bind(key, at: 1)
            _ = try statement.step()
            return connection.changes > 0
        }
    }
}
