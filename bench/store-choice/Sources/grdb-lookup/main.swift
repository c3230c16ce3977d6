import GRDB

// usage: grdb-lookup STORE KEY — prints the token (one CGI-style lookup).
let args = CommandLine.arguments
var configuration = Configuration()
configuration.readonly = true
let queue = try DatabaseQueue(path: args[1], configuration: configuration)
let token = try queue.read { db in
    try String.fetchOne(db, sql: "SELECT token FROM tokens WHERE number = ?", arguments: [args[2]])
}
print(token ?? "")
