
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_redis.h"
#include "ngx_http_hotline_resp.h"
#include "ngx_http_hotline_borrowed.h"


/*
 * The adapter between hiredis' asynchronous API and nginx's event loop.
 *
 * hiredis owns the socket (it closes it in redisFree()); nginx gets a
 * connection structure around the same descriptor for its events, and
 * gives it back without closing the descriptor when hiredis calls the
 * cleanup hook.  hiredis reads at most 16k per call and expects to be
 * called again while data remain, so the events are level-triggered.
 *
 * Commands are written by a posted event, after the handlers of the
 * current pass of the event loop: what they queued goes out in one write
 * (pipelining) without waiting for another epoll_wait() to report the
 * socket writable; only what the socket does not take waits for a write
 * event.
 */


#if (HIREDIS_MAJOR < 1)
/* exported by hiredis 0.14, declared in its async.h from 1.0 on */
void redisProcessCallbacks(redisAsyncContext *ac);
#endif


static void ngx_http_hotline_redis_read(ngx_event_t *rev);
static void ngx_http_hotline_redis_read_checked(ngx_http_hotline_redis_t *rc);
static void ngx_http_hotline_redis_write(ngx_event_t *wev);
static void ngx_http_hotline_redis_timeout(ngx_event_t *ev);
static void ngx_http_hotline_redis_flush_handler(ngx_event_t *ev);
static void ngx_http_hotline_redis_add_read(void *data);
static void ngx_http_hotline_redis_del_read(void *data);
static void ngx_http_hotline_redis_add_write(void *data);
static void ngx_http_hotline_redis_del_write(void *data);
static void ngx_http_hotline_redis_cleanup(void *data);
static void ngx_http_hotline_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_hotline_redis_on_disconnect(const redisAsyncContext *ac,
    int status);


ngx_int_t
ngx_http_hotline_redis_open(ngx_http_hotline_redis_t *rc, const char *ip,
    int port, ngx_msec_t timeout)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    rc->closing = 0;

    ac = redisAsyncConnect(ip, port);
    if (ac == NULL) {
        ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                      "hotline: redis %s connection: out of memory",
                      rc->what);
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                      "hotline: redis %s connection to %s:%d failed: %s",
                      rc->what, ip, port, ac->errstr);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c->data = rc;
    c->log = rc->log;
    c->read->log = rc->log;
    c->write->log = rc->log;
    c->read->handler = ngx_http_hotline_redis_read;
    c->write->handler = ngx_http_hotline_redis_write;

    rc->ac = ac;
    rc->conn = c;

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_hotline_redis_add_read;
    ac->ev.delRead = ngx_http_hotline_redis_del_read;
    ac->ev.addWrite = ngx_http_hotline_redis_add_write;
    ac->ev.delWrite = ngx_http_hotline_redis_del_write;
    ac->ev.cleanup = ngx_http_hotline_redis_cleanup;

    (void) redisAsyncSetConnectCallback(ac,
                                        ngx_http_hotline_redis_on_connect);
    (void) redisAsyncSetDisconnectCallback(ac,
                                        ngx_http_hotline_redis_on_disconnect);

    rc->timer.handler = ngx_http_hotline_redis_timeout;
    rc->timer.data = rc;
    rc->timer.log = rc->log;
    rc->timer.cancelable = 1;

    rc->flush.handler = ngx_http_hotline_redis_flush_handler;
    rc->flush.data = rc;
    rc->flush.log = rc->log;
    rc->writing = 0;

    ngx_add_timer(&rc->timer, timeout);

    /* the first write event tells hiredis that connect() is done */
    ngx_http_hotline_redis_add_write(rc);

    return NGX_OK;
}


/* frees the context: pending callbacks get a NULL reply, gone is not called */

void
ngx_http_hotline_redis_close(ngx_http_hotline_redis_t *rc)
{
    rc->closing = 1;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (rc->ac) {
        redisAsyncFree(rc->ac);
    }
}


/* one write attempt of what is queued (a worker that exits) */

void
ngx_http_hotline_redis_flush(ngx_http_hotline_redis_t *rc)
{
    if (rc->ac && (rc->ac->c.flags & REDIS_CONNECTED)) {
        redisAsyncHandleWrite(rc->ac);
    }
}


static void
ngx_http_hotline_redis_read(ngx_event_t *rev)
{
    ngx_connection_t          *c;
    ngx_http_hotline_redis_t  *rc;

    c = rev->data;
    rc = c->data;

    if (rc->ac->c.flags & REDIS_CONNECTED) {
        ngx_http_hotline_redis_read_checked(rc);
        return;
    }

    /* the context and the connection may be gone when this returns */
    redisAsyncHandleRead(rc->ac);
}


/*
 * What Redis sends is read here and walked (ngx_http_hotline_resp.c)
 * before hiredis gets it, as redisAsyncHandleRead() would give it, whole
 * replies only; hiredis asserts (aborts the worker) on what Redis does
 * not send, a reply that no command waits for:
 *
 *   - on a subscribed connection, a message that is not an array of at
 *     least two strings, or an unsubscribe without its count;
 *   - on another, anything but an error (which makes hiredis close the
 *     connection).
 *
 * A Redis gone wrong, or anything between it and nginx, might send
 * them; such a reply, or bytes that are not RESP, close the connection
 * instead, as a lost one (the store connects again).
 */

static void
ngx_http_hotline_redis_read_checked(ngx_http_hotline_redis_t *rc)
{
    u_char                         *p, *last, *in;
    size_t                          used, size;
    ssize_t                         n;
    ngx_int_t                       rv;
    ngx_uint_t                      wrong;
    redisCallback                  *cb;
    redisAsyncContext              *ac;
    ngx_http_hotline_resp_reply_t   reply;

    ac = rc->ac;

    if (rc->in_len == rc->in_size) {
        /* the first read, or a reply longer than the buffer */

        if (rc->in_size >= NGX_HOTLINE_REDIS_REPLY_MAX) {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "hotline: redis %s connection: a reply of more "
                          "than %uz bytes, the connection is closed",
                          rc->what, (size_t) NGX_HOTLINE_REDIS_REPLY_MAX);
            goto close;
        }

        size = rc->in_size ? 2 * rc->in_size : NGX_HOTLINE_REDIS_READ;

        in = ngx_alloc(size, rc->log);
        if (in == NULL) {
            goto close;
        }

        if (rc->in) {
            ngx_memcpy(in, rc->in, rc->in_len);
            ngx_free(rc->in);
        }

        rc->in = in;
        rc->in_size = size;
    }

    n = recv(ac->c.fd, rc->in + rc->in_len, rc->in_size - rc->in_len, 0);

    if (n == -1
        && (ngx_socket_errno == NGX_EAGAIN || ngx_socket_errno == NGX_EINTR))
    {
        return;
    }

    if (n <= 0) {
        /* the end, or an error: hiredis reads it again and says so */
        redisAsyncHandleRead(ac);
        return;
    }

    rc->in_len += n;

    /*
     * Each reply goes to the next command that waits for one, whatever
     * its shape; with none waiting, a subscribed connection's is a
     * message, anything else's must be an error.
     */

    cb = ac->replies.head;
    p = rc->in;
    last = rc->in + rc->in_len;
    wrong = 0;

    for ( ;; ) {
        rv = ngx_http_hotline_resp_next(p, last, &reply, &used);

        if (rv == NGX_AGAIN) {
            break;
        }

        if (rv == NGX_ERROR) {
            wrong = 1;
            break;
        }

        if (cb) {
            cb = cb->next;

        } else if ((ac->c.flags & REDIS_SUBSCRIBED)
                   ? !ngx_http_hotline_resp_pushed(&reply)
                   : reply.type != '-')
        {
            wrong = 1;
            break;
        }

        p += used;
    }

    if (wrong) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "hotline: redis %s connection: a message of the "
                      "wrong shape, the connection is closed", rc->what);
    }

    if (p == rc->in) {
        if (wrong) {
            goto close;
        }

        return;
    }

    /* the whole replies before it are answered */

    if (redisReaderFeed(ac->c.reader, (char *) rc->in, p - rc->in)
        != REDIS_OK)
    {
        goto close;
    }

    rc->in_len = last - p;

    if (rc->in_len) {
        ngx_memmove(rc->in, p, rc->in_len);

    } else if (rc->in_size > NGX_HOTLINE_REDIS_READ) {
        /* a long reply is over: its buffer goes */
        ngx_free(rc->in);
        rc->in = NULL;
        rc->in_size = 0;
    }

    /* the context and the connection may be gone when this returns */
    redisProcessCallbacks(ac);

    if (wrong && rc->ac == ac) {
        redisAsyncFree(ac);
    }

    return;

close:

    /* not in a hiredis callback: frees now, the cleanup hook runs */
    redisAsyncFree(ac);
}


static void
ngx_http_hotline_redis_write(ngx_event_t *wev)
{
    ngx_connection_t          *c;
    ngx_http_hotline_redis_t  *rc;

    c = wev->data;
    rc = c->data;

    rc->writing = 1;
    redisAsyncHandleWrite(rc->ac);
    rc->writing = 0;
}


static void
ngx_http_hotline_redis_timeout(ngx_event_t *ev)
{
    ngx_http_hotline_redis_t  *rc;

    rc = ev->data;

    ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                  "hotline: redis %s connection timed out", rc->what);

    if (rc->ac) {
        /* not in a hiredis callback: frees now, the cleanup hook runs */
        redisAsyncFree(rc->ac);
    }
}


static void
ngx_http_hotline_redis_add_read(void *data)
{
    ngx_http_hotline_redis_t *rc = data;

    if (rc->conn
        && ngx_http_hotline_borrowed_watch(rc->conn->read, NGX_READ_EVENT, 1)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "hotline: redis read event failed");
    }
}


static void
ngx_http_hotline_redis_del_read(void *data)
{
    ngx_http_hotline_redis_t *rc = data;

    if (rc->conn) {
        (void) ngx_http_hotline_borrowed_watch(rc->conn->read, NGX_READ_EVENT,
                                               0);
    }
}


static void
ngx_http_hotline_redis_flush_handler(ngx_event_t *ev)
{
    ngx_http_hotline_redis_t *rc = ev->data;

    if (rc->ac == NULL) {
        return;
    }

    /* hiredis calls add_write again if the socket does not take it all */
    rc->writing = 1;
    redisAsyncHandleWrite(rc->ac);

    /* the context may be gone: rc outlives it */
    rc->writing = 0;
}


static void
ngx_http_hotline_redis_add_write(void *data)
{
    ngx_http_hotline_redis_t *rc = data;

    if (rc->conn && !rc->writing && rc->ac
        && (rc->ac->c.flags & REDIS_CONNECTED))
    {
        /* at the end of this pass of the event loop */
        if (!rc->flush.posted) {
            ngx_post_event(&rc->flush, &ngx_posted_events);
        }

        return;
    }

    if (rc->conn
        && ngx_http_hotline_borrowed_watch(rc->conn->write, NGX_WRITE_EVENT, 1)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "hotline: redis write event failed");
    }
}


static void
ngx_http_hotline_redis_del_write(void *data)
{
    ngx_http_hotline_redis_t *rc = data;

    if (rc->conn) {
        (void) ngx_http_hotline_borrowed_watch(rc->conn->write,
                                               NGX_WRITE_EVENT, 0);
    }
}


/* hiredis frees the context: give the connection back, not the socket */

static void
ngx_http_hotline_redis_cleanup(void *data)
{
    ngx_http_hotline_redis_t *rc = data;

    ngx_connection_t  *c;

    c = rc->conn;

    if (c) {
        ngx_http_hotline_borrowed_release(c, 0);
        rc->conn = NULL;
    }

    rc->ac = NULL;

    if (rc->in) {
        ngx_free(rc->in);
        rc->in = NULL;
    }

    rc->in_len = 0;
    rc->in_size = 0;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (rc->flush.posted) {
        ngx_delete_posted_event(&rc->flush);
    }

    if (!rc->closing && rc->gone) {
        rc->gone(rc);
    }
}


static void
ngx_http_hotline_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_hotline_redis_t  *rc;

    rc = ac->data;

    if (status != REDIS_OK) {
        /*
         * hiredis frees the context next: the cleanup hook follows; the
         * store logs the failed attempt with this reason at [warn]
         */
        ngx_log_error(NGX_LOG_INFO, rc->log, 0,
                      "hotline: redis %s connect failed: %s",
                      rc->what, ac->errstr);
        return;
    }

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (rc->connected) {
        rc->connected(rc);
    }
}


static void
ngx_http_hotline_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_hotline_redis_t  *rc;

    rc = ac->data;

    if (status != REDIS_OK && !rc->closing) {
        ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                      "hotline: redis %s connection lost: %s",
                      rc->what, ac->errstr[0] ? ac->errstr : "closed");
    }
}
