#ifndef TOKEN_CSQLITE_SHIM_H
#define TOKEN_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro around a function-pointer cast that Swift cannot import.
/// It makes SQLite copy a bound string before the call returns.
static inline sqlite3_destructor_type token_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// sqlite3_config is variadic; Swift cannot call it.
static inline int token_sqlite_config_single_thread_off(void) { return sqlite3_config(SQLITE_CONFIG_MULTITHREAD); }

#endif
