#ifndef TOKEN_CFASTCGI_SHIM_H
#define TOKEN_CFASTCGI_SHIM_H
#include <fastcgi.h>
#include <fcgiapp.h>
#include <stddef.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* accept4 is declared by <sys/socket.h> only under _GNU_SOURCE, which Swift's Glibc module is
   not built with. */
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

/// Accepts a connection with close-on-exec set atomically (blocking socket, as libfcgi expects).
static inline int token_accept_cloexec(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
}

/*
 * libfcgi's threaded API (FCGX_Accept_r) accepts a new connection only when the request has
 * no open one, and otherwise keeps reading the same kept-alive connection, blocking its thread
 * while nginx leaves it idle. token-responder instead watches idle connections with epoll and
 * hands a connection to a worker only when a request has arrived on it. These helpers let a
 * worker serve the next request of a given connection through libfcgi. They touch fields that
 * fcgiapp.h marks "don't use" (ipcFd, keepConnection, listen_sock): their meaning is checked by
 * FastCGIShimTests, which fails if a libfcgi upgrade changes it. Written against libfcgi 2.4.2.
 */

/// Reads the next request from the already-open connection `fd` instead of accepting one.
/// Returns FCGX_Accept_r's result: 0 on success; < 0 if the connection ended or broke, in
/// which case libfcgi has closed `fd`.
static inline int token_fcgx_accept_on(FCGX_Request *request, int fd) {
    request->ipcFd = fd;
    /* FCGX_Accept_r first finishes the "previous" request; with keepConnection set that
       finish leaves ipcFd open instead of closing it. */
    request->keepConnection = 1;
    /* If the connection turns out to be closed, libfcgi would fall back to accept() on the
       listening socket and block; -1 makes that fail at once instead. */
    request->listen_sock = -1;
    return FCGX_Accept_r(request);
}

/// After FCGX_Finish_r: the connection's fd if libfcgi kept it open (the web server asked for
/// FCGI_KEEP_CONN and nothing failed), else -1.
static inline int token_fcgx_kept_fd(const FCGX_Request *request) {
    return request->ipcFd;
}

/// After token_fcgx_accept_on: true when the web server asked to keep the connection open after
/// this request (FCGI_KEEP_CONN in BEGIN_REQUEST).
static inline int token_fcgx_keep_conn_requested(const FCGX_Request *request) {
    return request->keepConnection;
}

/// Makes the next FCGX_Finish_r leave the connection open whatever the web server asked, so the
/// caller closes it itself: libfcgi's own close shuts the socket down and then waits, 2 s per
/// read, for the peer to close its side, which holds the thread as long as a peer that keeps
/// the connection open (or trickles bytes into it) wants.
static inline void token_fcgx_keep_open_after_finish(FCGX_Request *request) {
    request->keepConnection = 1;
}

/// After token_fcgx_accept_on: true when the web server asked for the Responder role, the only
/// one this application plays (nginx always does; FastCGI also defines Authorizer and Filter).
static inline int token_fcgx_is_responder(const FCGX_Request *request) {
    return request->role == FCGI_RESPONDER;
}

/// Refuses the request just read, as the FastCGI spec asks for a role the application does not
/// play: END_REQUEST with FCGI_UNKNOWN_ROLE, then the connection is closed (whatever else the
/// web server sends for that request is not read). libfcgi would answer every role through
/// FCGX_Finish_r with FCGI_REQUEST_COMPLETE, so the record is written here and the request's
/// streams are freed without libfcgi writing anything.
static inline void token_fcgx_refuse_role(FCGX_Request *request) {
    int fd = request->ipcFd;
    FCGI_EndRequestRecord record = {
        .header = {
            .version = FCGI_VERSION_1, .type = FCGI_END_REQUEST,
            .requestIdB1 = (unsigned char)((request->requestId >> 8) & 0xff),
            .requestIdB0 = (unsigned char)(request->requestId & 0xff),
            .contentLengthB1 = 0, .contentLengthB0 = sizeof(FCGI_EndRequestBody),
        },
        .body = { .protocolStatus = FCGI_UNKNOWN_ROLE },
    };
    FCGX_Free(request, 0);
    (void)write(fd, &record, sizeof record);
    close(fd);
    request->ipcFd = -1;
}

/* SCHED_BATCH is defined by <sched.h> only under _GNU_SOURCE; its value is Linux ABI. */
#include <sched.h>
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif

/// Puts the calling thread under SCHED_BATCH: it gets its fair share of CPU as before, but
/// waking up does not preempt the task running on that CPU. 0 on success, -1 (errno set).
static inline int token_schedule_batch(void) {
    struct sched_param parameters = { .sched_priority = 0 };
    return sched_setscheduler(0, SCHED_BATCH, &parameters);
}

/* sem_clockwait is declared by <semaphore.h> only under _GNU_SOURCE. */
extern int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime);

/// Waits until `sem` is posted or `nanoseconds` (< 1 s) pass on the monotonic clock, so a
/// change of the wall clock cannot stretch the wait. 0 if posted, -1 otherwise (errno set).
static inline int token_sem_wait_for(sem_t *sem, long nanoseconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += nanoseconds;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    return sem_clockwait(sem, CLOCK_MONOTONIC, &deadline);
}

/*
 * The listening socket's backlog: connections the kernel has accepted that no worker has taken
 * yet (PHP-FPM's "listen queue"), for the metrics. Read at scrape time only.
 * TCP: TCP_INFO on a listening socket reports the accept queue's length in tcpi_unacked.
 * Unix: the length is only given by sock_diag (what `ss -xl` shows as Recv-Q), asked for the
 * socket's inode. Returns the count, or -1 when it cannot be read.
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>

static inline int token_listen_backlog(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    if (address.ss_family == AF_INET || address.ss_family == AF_INET6) {
        struct tcp_info info;
        socklen_t size = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return -1;
        return (int)info.tcpi_unacked;
    }
    if (address.ss_family != AF_UNIX) return -1;
    struct stat status;
    if (fstat(fd, &status) != 0) return -1;
    int diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) return -1;
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } ask;
    memset(&ask, 0, sizeof(ask));
    ask.header.nlmsg_len = sizeof(ask);
    ask.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.header.nlmsg_flags = NLM_F_REQUEST;
    ask.request.sdiag_family = AF_UNIX;
    ask.request.udiag_states = 1u << 10; /* TCP_LISTEN */
    ask.request.udiag_ino = (unsigned int)status.st_ino;
    ask.request.udiag_show = UDIAG_SHOW_RQLEN;
    ask.request.udiag_cookie[0] = ask.request.udiag_cookie[1] = ~0u; /* no cookie check */
    struct timeval timeout = {0, 100000};
    setsockopt(diag, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int result = -1;
    if (send(diag, &ask, sizeof(ask), 0) == (ssize_t)sizeof(ask)) {
        long buffer[1024];
        ssize_t got = recv(diag, buffer, sizeof(buffer), 0);
        struct nlmsghdr *header = (struct nlmsghdr *)buffer;
        if (got > 0 && NLMSG_OK(header, (unsigned int)got) && header->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            struct unix_diag_msg *message = NLMSG_DATA(header);
            int rest = (int)header->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*message));
            struct rtattr *attribute = (struct rtattr *)(message + 1);
            for (; RTA_OK(attribute, rest); attribute = RTA_NEXT(attribute, rest)) {
                if (attribute->rta_type == UNIX_DIAG_RQLEN) {
                    struct unix_diag_rqlen *queue = RTA_DATA(attribute);
                    result = (int)queue->udiag_rqueue;
                }
            }
        }
    }
    close(diag);
    return result;
}

/// The value of the parameter `name` (`length` bytes, no '=') in `envp`, or NULL: what
/// FCGX_GetParam returns, without a strncmp call per parameter (most differ in their first
/// bytes). Every parameter the responder reads is found this way (FastCGIParameters).
static inline const char *token_fcgx_find_param(const char *name, size_t length, FCGX_ParamArray envp) {
    if (envp == NULL || length == 0) return NULL;
    for (; *envp != NULL; envp++) {
        const char *entry = *envp;
        size_t i = 0;
        /* Stops at the first difference; an entry's NUL differs from any byte of `name`, so
           nothing past an entry's end is read. */
        while (i < length && entry[i] == name[i]) i++;
        if (i == length && entry[length] == '=') return entry + length + 1;
    }
    return NULL;
}

#endif
