#ifndef TOKEN_CLIBPQ_SHIM_H
#define TOKEN_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>

/// Waits until the connection's socket is ready for what libpq asked for (`forWrite` when
/// PQconnectPoll said PGRES_POLLING_WRITING), at most `timeoutMs`; >0 ready, 0 timed out, <0 error.
static inline int token_pq_wait(PGconn *conn, int forWrite, int timeoutMs) {
    struct pollfd pfd;
    pfd.fd = PQsocket(conn);
    if (pfd.fd < 0) return -1;
    pfd.events = forWrite ? POLLOUT : POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, timeoutMs);
}

#endif
