#ifndef TOKEN_CSQLITE_SHIM_H
#define TOKEN_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro around a function-pointer cast that Swift cannot import.
/// It makes SQLite copy a bound string before the call returns.
static inline sqlite3_destructor_type token_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// sqlite3_db_config is variadic. Makes closing `db` never checkpoint the WAL into the database
/// file (nor delete the WAL): a reader whose files were replaced under it must not write its
/// stale log into a file another process now owns.
static inline int token_sqlite_no_checkpoint_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}

#endif
