#include "token_pq.h"

#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>

static struct {
    __typeof__(PQclear) *PQclear;
    __typeof__(PQcmdTuples) *PQcmdTuples;
    __typeof__(PQconnectPoll) *PQconnectPoll;
    __typeof__(PQconnectStartParams) *PQconnectStartParams;
    __typeof__(PQconnectdbParams) *PQconnectdbParams;
    __typeof__(PQconninfoFree) *PQconninfoFree;
    __typeof__(PQconninfoParse) *PQconninfoParse;
    __typeof__(PQconsumeInput) *PQconsumeInput;
    __typeof__(PQerrorMessage) *PQerrorMessage;
    __typeof__(PQexec) *PQexec;
    __typeof__(PQexecParams) *PQexecParams;
    __typeof__(PQfinish) *PQfinish;
    __typeof__(PQflush) *PQflush;
    __typeof__(PQfreemem) *PQfreemem;
    __typeof__(PQgetResult) *PQgetResult;
    __typeof__(PQgetisnull) *PQgetisnull;
    __typeof__(PQgetlength) *PQgetlength;
    __typeof__(PQgetvalue) *PQgetvalue;
    __typeof__(PQisBusy) *PQisBusy;
    __typeof__(PQntuples) *PQntuples;
    __typeof__(PQputCopyData) *PQputCopyData;
    __typeof__(PQputCopyEnd) *PQputCopyEnd;
    __typeof__(PQresultErrorMessage) *PQresultErrorMessage;
    __typeof__(PQresultStatus) *PQresultStatus;
    __typeof__(PQsendPrepare) *PQsendPrepare;
    __typeof__(PQsendQuery) *PQsendQuery;
    __typeof__(PQsendQueryPrepared) *PQsendQueryPrepared;
    __typeof__(PQsocket) *PQsocket;
    __typeof__(PQstatus) *PQstatus;
} table;

static const char *load_error = "libpq was not loaded";
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        load_error = dlerror();
        return;
    }
#define LOAD(name) \
    if ((table.name = (__typeof__(name) *)dlsym(library, #name)) == NULL) { \
        load_error = dlerror(); \
        return; \
    }
    LOAD(PQclear)
    LOAD(PQcmdTuples)
    LOAD(PQconnectPoll)
    LOAD(PQconnectStartParams)
    LOAD(PQconnectdbParams)
    LOAD(PQconninfoFree)
    LOAD(PQconninfoParse)
    LOAD(PQconsumeInput)
    LOAD(PQerrorMessage)
    LOAD(PQexec)
    LOAD(PQexecParams)
    LOAD(PQfinish)
    LOAD(PQflush)
    LOAD(PQfreemem)
    LOAD(PQgetResult)
    LOAD(PQgetisnull)
    LOAD(PQgetlength)
    LOAD(PQgetvalue)
    LOAD(PQisBusy)
    LOAD(PQntuples)
    LOAD(PQputCopyData)
    LOAD(PQputCopyEnd)
    LOAD(PQresultErrorMessage)
    LOAD(PQresultStatus)
    LOAD(PQsendPrepare)
    LOAD(PQsendQuery)
    LOAD(PQsendQueryPrepared)
    LOAD(PQsocket)
    LOAD(PQstatus)
#undef LOAD
    load_error = NULL;
}

const char *token_pq_load(void) {
    pthread_once(&once, load);
    return load_error;
}

void token_PQclear(PGresult *res) { table.PQclear(res); }
char * token_PQcmdTuples(PGresult *res) { return table.PQcmdTuples(res); }
PostgresPollingStatusType token_PQconnectPoll(PGconn *conn) { return table.PQconnectPoll(conn); }
PGconn * token_PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname) { return table.PQconnectStartParams(keywords, values, expand_dbname); }
PGconn * token_PQconnectdbParams(const char *const *keywords, const char *const *values, int expand_dbname) { return table.PQconnectdbParams(keywords, values, expand_dbname); }
void token_PQconninfoFree(PQconninfoOption *connOptions) { table.PQconninfoFree(connOptions); }
PQconninfoOption * token_PQconninfoParse(const char *conninfo, char **errmsg) { return table.PQconninfoParse(conninfo, errmsg); }
int token_PQconsumeInput(PGconn *conn) { return table.PQconsumeInput(conn); }
char * token_PQerrorMessage(const PGconn *conn) { return table.PQerrorMessage(conn); }
PGresult * token_PQexec(PGconn *conn, const char *query) { return table.PQexec(conn, query); }
PGresult * token_PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat) { return table.PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat); }
void token_PQfinish(PGconn *conn) { table.PQfinish(conn); }
int token_PQflush(PGconn *conn) { return table.PQflush(conn); }
void token_PQfreemem(void *ptr) { table.PQfreemem(ptr); }
PGresult * token_PQgetResult(PGconn *conn) { return table.PQgetResult(conn); }
int token_PQgetisnull(const PGresult *res, int tup_num, int field_num) { return table.PQgetisnull(res, tup_num, field_num); }
int token_PQgetlength(const PGresult *res, int tup_num, int field_num) { return table.PQgetlength(res, tup_num, field_num); }
char * token_PQgetvalue(const PGresult *res, int tup_num, int field_num) { return table.PQgetvalue(res, tup_num, field_num); }
int token_PQisBusy(PGconn *conn) { return table.PQisBusy(conn); }
int token_PQntuples(const PGresult *res) { return table.PQntuples(res); }
int token_PQputCopyData(PGconn *conn, const char *buffer, int nbytes) { return table.PQputCopyData(conn, buffer, nbytes); }
int token_PQputCopyEnd(PGconn *conn, const char *errormsg) { return table.PQputCopyEnd(conn, errormsg); }
char * token_PQresultErrorMessage(const PGresult *res) { return table.PQresultErrorMessage(res); }
ExecStatusType token_PQresultStatus(const PGresult *res) { return table.PQresultStatus(res); }
int token_PQsendPrepare(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes) { return table.PQsendPrepare(conn, stmtName, query, nParams, paramTypes); }
int token_PQsendQuery(PGconn *conn, const char *query) { return table.PQsendQuery(conn, query); }
int token_PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat) { return table.PQsendQueryPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat); }
int token_PQsocket(const PGconn *conn) { return table.PQsocket(conn); }
ConnStatusType token_PQstatus(const PGconn *conn) { return table.PQstatus(conn); }

int token_pq_wait(PGconn *conn, int forWrite, int timeoutMs) {
    struct pollfd pfd;
    pfd.fd = token_PQsocket(conn);
    if (pfd.fd < 0) return -1;
    pfd.events = forWrite ? POLLOUT : POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, timeoutMs);
}
