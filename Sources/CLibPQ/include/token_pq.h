#ifndef TOKEN_CLIBPQ_H
#define TOKEN_CLIBPQ_H
/// libpq, loaded when a PostgreSQL store is first used rather than linked: linking it made every
/// process load libpq and the 20-odd libraries it needs (TLS, Kerberos, LDAP), which doubled
/// plain-CGI start-up for SQLite stores (docs/PERFORMANCE.md). Swift calls the token_PQ…
/// functions declared here; libpq's header supplies only its types and constants, and a direct
/// call to a PQ… function fails to link.
#include <postgresql/libpq-fe.h>

/// Loads libpq (once per process, thread-safe); NULL when it is ready, else why not.
const char *token_pq_load(void);

void token_PQclear(PGresult *res);
char * token_PQcmdTuples(PGresult *res);
PostgresPollingStatusType token_PQconnectPoll(PGconn *conn);
PGconn * token_PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname);
PGconn * token_PQconnectdbParams(const char *const *keywords, const char *const *values, int expand_dbname);
void token_PQconninfoFree(PQconninfoOption *connOptions);
PQconninfoOption * token_PQconninfoParse(const char *conninfo, char **errmsg);
int token_PQconsumeInput(PGconn *conn);
char * token_PQerrorMessage(const PGconn *conn);
PGresult * token_PQexec(PGconn *conn, const char *query);
PGresult * token_PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
void token_PQfinish(PGconn *conn);
int token_PQflush(PGconn *conn);
void token_PQfreemem(void *ptr);
PGresult * token_PQgetResult(PGconn *conn);
int token_PQgetisnull(const PGresult *res, int tup_num, int field_num);
int token_PQgetlength(const PGresult *res, int tup_num, int field_num);
char * token_PQgetvalue(const PGresult *res, int tup_num, int field_num);
int token_PQisBusy(PGconn *conn);
int token_PQntuples(const PGresult *res);
int token_PQputCopyData(PGconn *conn, const char *buffer, int nbytes);
int token_PQputCopyEnd(PGconn *conn, const char *errormsg);
char * token_PQresultErrorMessage(const PGresult *res);
ExecStatusType token_PQresultStatus(const PGresult *res);
int token_PQsendPrepare(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes);
int token_PQsendQuery(PGconn *conn, const char *query);
int token_PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
int token_PQsocket(const PGconn *conn);
ConnStatusType token_PQstatus(const PGconn *conn);

/// Waits until the connection's socket is ready for what libpq asked for (`forWrite` when
/// PQconnectPoll said PGRES_POLLING_WRITING), at most `timeoutMs`; >0 ready, 0 timed out, <0 error.
int token_pq_wait(PGconn *conn, int forWrite, int timeoutMs);

#endif
