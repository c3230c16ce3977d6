import CSQLiteBench

// usage: raw-lookup STORE KEY — prints the token (one CGI-style lookup).
let args = CommandLine.arguments
var db: OpaquePointer?
guard sqlite3_open_v2(args[1], &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { fatalError("open") }
var statement: OpaquePointer?
sqlite3_prepare_v2(db, "SELECT token FROM tokens WHERE number = ?1", -1, &statement, nil)
sqlite3_bind_text(statement, 1, args[2], -1, nil)
if sqlite3_step(statement) == SQLITE_ROW { print(String(cString: sqlite3_column_text(statement, 0))) }
sqlite3_finalize(statement)
sqlite3_close(db)
