
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_move.h"
#include "ngx_http_hotline_dgram.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"


/*
 * Hand-overs between the workers of a node.  Each worker reads a Unix
 * datagram socket in the abstract namespace named after its pid (as its
 * doorbell); a hand-over is one datagram: the connection's descriptor
 * (SCM_RIGHTS) and what the receiver needs to go on with it.  Anyone on
 * the machine may send to such a socket, so the kernel's word on the
 * sender (SO_PASSCRED) decides: a hand-over is taken only from a process
 * of our user that is a worker of this zone, and of this generation
 * (the caller checks the bytes: ngx_http_hotline_generation).  Anything
 * else is logged, and its descriptors closed.
 *
 * A worker on its way out stops taking them first: shutdown(SHUT_RD)
 * makes a send fail at once (EPIPE: the connection stays where it is),
 * and the hand-overs already queued, which came after its last turn of
 * the event loop, go to the refuse handler (their connections end, what
 * they held in shared memory is released).  Closing the socket alone
 * would drop them with their descriptors, and with them their limit_conn
 * places, in a zone that outlives a reload.
 */


static void ngx_http_hotline_move_read(ngx_event_t *rev);
static void ngx_http_hotline_move_recv(ngx_connection_t *c,
    ngx_http_hotline_move_pt handler);
static void ngx_http_hotline_move_close_fds(struct msghdr *msg);


uint64_t                          ngx_http_hotline_generation;

static ngx_connection_t          *ngx_http_hotline_move_in;
static ngx_socket_t               ngx_http_hotline_move_out = -1;
static ngx_http_hotline_move_pt   ngx_http_hotline_move_handler;
static ngx_http_hotline_move_pt   ngx_http_hotline_move_refuse;

/* the worker whose queue was full, and when: not again in that ms */
static ngx_pid_t                  ngx_http_hotline_move_full;
static ngx_msec_t                 ngx_http_hotline_move_full_at;


ngx_int_t
ngx_http_hotline_move_init(ngx_cycle_t *cycle,
    ngx_http_hotline_move_pt handler, ngx_http_hotline_move_pt refuse)
{
    ngx_http_hotline_move_handler = handler;
    ngx_http_hotline_move_refuse = refuse;

    ngx_http_hotline_move_in = ngx_http_hotline_dgram_open(cycle,
                                   "ngx_hotline_move", 1,
                                   ngx_http_hotline_move_read,
                                   &ngx_http_hotline_move_out);

    return ngx_http_hotline_move_in ? NGX_OK : NGX_ERROR;
}


void
ngx_http_hotline_move_done(void)
{
    ngx_connection_t  *c;

    c = ngx_http_hotline_move_in;

    if (c) {
        if (shutdown(c->fd, SHUT_RD) == -1) {
            ngx_log_error(NGX_LOG_ALERT, c->log, ngx_socket_errno,
                          "hotline: hand-over shutdown() failed");
        }

        ngx_http_hotline_move_recv(c, ngx_http_hotline_move_refuse);

        ngx_close_connection(c);
        ngx_http_hotline_move_in = NULL;
    }

    if (ngx_http_hotline_move_out != (ngx_socket_t) -1) {
        (void) ngx_close_socket(ngx_http_hotline_move_out);
        ngx_http_hotline_move_out = -1;
    }
}


/* whether worker pid's queue was full a moment ago */

ngx_uint_t
ngx_http_hotline_move_busy(ngx_pid_t pid)
{
    return pid == ngx_http_hotline_move_full
           && ngx_current_msec == ngx_http_hotline_move_full_at;
}


/*
 * NGX_OK: the descriptor is on its way (ours may be closed); NGX_AGAIN:
 * the worker's queue is full (net.unix.max_dgram_qlen), later; else
 * nothing was sent
 */

ngx_int_t
ngx_http_hotline_move_send(ngx_pid_t pid, ngx_socket_t fd, u_char *buf,
    size_t len)
{
    ssize_t              n;
    socklen_t            salen;
    struct iovec         iov;
    struct msghdr        msg;
    struct cmsghdr      *cmsg;
    struct sockaddr_un   sa;

    union {
        struct cmsghdr   cm;
        u_char           space[CMSG_SPACE(sizeof(int))];
    } cmsgbuf;

    if (ngx_http_hotline_move_out == (ngx_socket_t) -1
        || len > NGX_HOTLINE_MOVE_MAX)
    {
        return NGX_ERROR;
    }

    ngx_http_hotline_dgram_addr(&sa, &salen, "ngx_hotline_move", pid);

    iov.iov_base = buf;
    iov.iov_len = len;

    ngx_memzero(&msg, sizeof(struct msghdr));
    ngx_memzero(&cmsgbuf, sizeof(cmsgbuf));

    msg.msg_name = &sa;
    msg.msg_namelen = salen;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsgbuf.space;
    msg.msg_controllen = sizeof(cmsgbuf.space);

    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    ngx_memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

    n = sendmsg(ngx_http_hotline_move_out, &msg, 0);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        ngx_http_hotline_move_full = pid;
        ngx_http_hotline_move_full_at = ngx_current_msec;
        return NGX_AGAIN;
    }

    if (n != (ssize_t) len) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_socket_errno,
                      "hotline: hand-over to worker %P failed", pid);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_hotline_move_read(ngx_event_t *rev)
{
    ngx_http_hotline_move_recv(rev->data, ngx_http_hotline_move_handler);

    rev->ready = 0;

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, rev->log, 0,
                      "hotline: hand-over event failed");
    }
}


/* every hand-over queued, to handler */

static void
ngx_http_hotline_move_recv(ngx_connection_t *c,
    ngx_http_hotline_move_pt handler)
{
    int                 fd;
    ssize_t             n;
    ngx_uint_t          ok, nfds;
    struct iovec        iov;
    struct ucred        cred;
    struct msghdr       msg;
    struct cmsghdr     *cmsg;

    union {
        uint64_t        align;
        u_char          data[NGX_HOTLINE_MOVE_MAX];
    } buf;

    union {
        struct cmsghdr  cm;
        u_char          space[CMSG_SPACE(sizeof(struct ucred))
                              + CMSG_SPACE(4 * sizeof(int))];
    } cmsgbuf;

    for ( ;; ) {
        iov.iov_base = buf.data;
        iov.iov_len = sizeof(buf.data);

        ngx_memzero(&msg, sizeof(struct msghdr));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsgbuf.space;
        msg.msg_controllen = sizeof(cmsgbuf.space);

        n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);

        if (n == -1) {
            if (ngx_socket_errno == NGX_EAGAIN) {
                break;
            }

            if (ngx_socket_errno == NGX_EINTR) {
                continue;
            }

            ngx_log_error(NGX_LOG_ALERT, c->log, ngx_socket_errno,
                          "hotline: hand-over recvmsg() failed");
            break;
        }

        /* the sender, as the kernel says, and exactly one descriptor */

        ok = 0;
        nfds = 0;
        fd = -1;

        for (cmsg = CMSG_FIRSTHDR(&msg); cmsg;
             cmsg = CMSG_NXTHDR(&msg, cmsg))
        {
            if (cmsg->cmsg_level != SOL_SOCKET) {
                continue;
            }

            if (cmsg->cmsg_type == SCM_CREDENTIALS
                && cmsg->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
            {
                ngx_memcpy(&cred, CMSG_DATA(cmsg), sizeof(struct ucred));

                ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
                ok = cred.uid == geteuid() && cred.pid != ngx_pid
                     && ngx_http_hotline_mailbox_alive(cred.pid);
                ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

            } else if (cmsg->cmsg_type == SCM_RIGHTS) {
                nfds += (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                if (fd == -1 && cmsg->cmsg_len >= CMSG_LEN(sizeof(int))) {
                    ngx_memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
                }
            }
        }

        if (!ok || nfds != 1 || (msg.msg_flags & (MSG_TRUNC|MSG_CTRUNC))) {
            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "hotline: a hand-over that is not a worker's "
                          "(%uz bytes, %ui descriptors), dropped",
                          (size_t) n, nfds);
            ngx_http_hotline_move_close_fds(&msg);
            continue;
        }

        handler(fd, buf.data, (size_t) n);
    }
}


static void
ngx_http_hotline_move_close_fds(struct msghdr *msg)
{
    int              fd;
    size_t           i, n;
    struct cmsghdr  *cmsg;

    for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {

        if (cmsg->cmsg_level != SOL_SOCKET
            || cmsg->cmsg_type != SCM_RIGHTS)
        {
            continue;
        }

        n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        for (i = 0; i < n; i++) {
            ngx_memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            (void) close(fd);
        }
    }
}
