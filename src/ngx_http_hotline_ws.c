
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_ws.h"
#include "ngx_http_hotline_guard.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_alloc.h"


/*
 * A WebSocket connection after the upgrade: the HTTP request is freed
 * (an idle connection keeps only its small pool and the session), input
 * is read into one buffer per worker and parsed at once, output goes
 * straight to the socket and only what the socket does not take waits
 * in a bounded queue.
 */


#define NGX_HOTLINE_READ_BUF     16384
#define NGX_HOTLINE_READ_TURN    2       /* reads before others' turn */
#define NGX_HOTLINE_READ_BUSY    16      /* pins: the handler's work under
                                            way; more waits in the socket */
#define NGX_HOTLINE_LINGER       5000


static void ngx_http_hotline_ws_upgrade(ngx_event_t *ev);
static ngx_int_t ngx_http_hotline_ws_keep_limits(ngx_http_request_t *r,
    ngx_connection_t *c);
static void ngx_http_hotline_ws_expired(ngx_http_hotline_ws_t *s);
static void ngx_http_hotline_ws_answer(ngx_http_hotline_ws_t *s,
    u_char *pos, u_char *last);
static ngx_http_hotline_ws_parser_t *ngx_http_hotline_ws_parser(
    ngx_http_hotline_ws_t *s);
static void ngx_http_hotline_ws_park(ngx_http_hotline_ws_t *s,
    ngx_http_hotline_ws_parser_t *ps);
static void ngx_http_hotline_ws_input(ngx_http_hotline_ws_t *s,
    u_char *pos, u_char *last);
static ngx_http_hotline_out_t *ngx_http_hotline_out_alloc(size_t size,
    ngx_uint_t more, ngx_log_t *log);
static ngx_int_t ngx_http_hotline_out_kind(ngx_http_hotline_out_t *out);
static void ngx_http_hotline_out_free(ngx_http_hotline_out_t *out);
static ngx_int_t ngx_http_hotline_ws_queue(ngx_http_hotline_ws_t *s,
    u_char **parts, size_t *lens, ngx_uint_t n);
static ngx_int_t ngx_http_hotline_ws_flush(ngx_http_hotline_ws_t *s);
static void ngx_http_hotline_ws_linger(ngx_http_hotline_ws_t *s);
#if (NGX_HTTP_SSL && nginx_version >= 1021001)
static void ngx_http_hotline_ws_tls_shut(ngx_connection_t *c);
#endif
static void ngx_http_hotline_ws_free(ngx_http_hotline_ws_t *s);
static void *ngx_http_hotline_ws_alloc(size_t size, void *data);
static void ngx_http_hotline_ws_dealloc(void *p, void *data);


static u_char  ngx_http_hotline_rbuf[NGX_HOTLINE_READ_BUF];

/* the parser of a read of a connection that keeps none between reads */
static ngx_http_hotline_ws_parser_t  ngx_http_hotline_ws_shared;
static ngx_uint_t                    ngx_http_hotline_ws_shared_busy;


/*
 * Called from the content handler once the handshake is accepted.  The
 * HTTP machinery still owns the connection until the handler returns,
 * so the switch happens in a posted event: the connection's read event,
 * whose handler nothing else sets from here (the request is
 * HTTP/1.1's, c->data until it is freed).
 */

ngx_int_t
ngx_http_hotline_ws_start(ngx_http_request_t *r,
    ngx_http_hotline_ws_t *s)
{
    ngx_connection_t           *c;
    ngx_http_hotline_ws_ctx_t  *ctx;

    c = r->connection;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_module);
    ctx->ws = s;

    s->connection = c;
    s->out_last = &s->out;

    c->read->handler = ngx_http_hotline_ws_upgrade;
    ngx_post_event(c->read, &ngx_posted_events);

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hotline_ws_upgrade(ngx_event_t *ev)
{
    u_char                      *p, *parts[1];
    size_t                       left, lens[1];
    ngx_int_t                    limits;
    ngx_chain_t                 *cl;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_flag_t                   nodelay;
    ngx_http_connection_t       *hc;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_hotline_ws_t       *s;
    ngx_http_hotline_ws_ctx_t   *ctx;
    u_char                       head[256];

    c = ev->data;
    r = c->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_module);
    s = ctx->ws;

    /* frames the client sent right behind its request, if any */

    left = 0;

    if (r->header_in && r->header_in->pos < r->header_in->last) {
        left = r->header_in->last - r->header_in->pos;

        if (left > NGX_HOTLINE_READ_BUF) {
            left = NGX_HOTLINE_READ_BUF;
        }

        ngx_memcpy(ngx_http_hotline_rbuf, r->header_in->pos, left);
    }

    p = ngx_cpymem(head, "HTTP/1.1 101 Switching Protocols" CRLF
                   "Upgrade: websocket" CRLF
                   "Connection: Upgrade" CRLF
                   "Sec-WebSocket-Accept: ",
                   sizeof("HTTP/1.1 101 Switching Protocols" CRLF
                          "Upgrade: websocket" CRLF
                          "Connection: Upgrade" CRLF
                          "Sec-WebSocket-Accept: ") - 1);
    p = ngx_cpymem(p, ctx->accept, NGX_HOTLINE_WS_ACCEPT_LEN);

    if (s->subprotocol) {
        p = ngx_cpymem(p, CRLF "Sec-WebSocket-Protocol: hotline.v1",
                       sizeof(CRLF "Sec-WebSocket-Protocol: hotline.v1") - 1);
    }

    p = ngx_cpymem(p, CRLF CRLF, 4);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;

    /* messages are small and go one after another: no Nagle delay */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    nodelay = clcf->tcp_nodelay;

    hc = r->http_connection;

    c->data = s;
    c->read->handler = ngx_http_hotline_ws_read;
    c->write->handler = ngx_http_hotline_ws_write;

    /*
     * the client as the request saw it (after realip, which the request's
     * end undoes), an IPv6 address cut to its prefix: what bans and caps
     * count (ngx_http_hotline_client.c); none if memory is short
     */

    s->addr.data = ngx_pnalloc(c->pool, NGX_HOTLINE_CLIENT_KEY);
    s->addr.len = s->addr.data ? ngx_http_hotline_client_key(r, s->addr.data)
                               : 0;

    limits = ngx_http_hotline_ws_keep_limits(r, c);

    /* logs the request with status 101 and frees its pool */
    ngx_http_free_request(r, 0);
    ngx_http_hotline_trim_note();

    c->destroyed = 0;
    c->log->action = "serving hotline signaling";

    /* what is left of the header buffers belongs to the connection pool */

    if (c->buffer && ngx_pfree(c->pool, c->buffer->start) == NGX_OK) {
        c->buffer = NULL;
    }

    for (cl = hc->free; cl; cl = cl->next) {
        (void) ngx_pfree(c->pool, cl->buf->start);
    }

    for (cl = hc->busy; cl; cl = cl->next) {
        (void) ngx_pfree(c->pool, cl->buf->start);
    }

    hc->free = NULL;
    hc->busy = NULL;
    hc->nbusy = 0;

    /* the shutdown of a worker closes idle connections: we are one */
    c->idle = 1;

    s->upgraded = 1;

    /*
     * the handler's timer and the lingering close's (the read event's)
     * do not hold a worker that shuts down
     */
    c->read->cancelable = 1;

    s->pending++;

    if (limits != NGX_OK
        || (nodelay && ngx_tcp_nodelay(c) != NGX_OK))
    {
        ngx_http_hotline_ws_finalize(s);
        goto done;
    }

    parts[0] = head;
    lens[0] = p - head;

    if (ngx_http_hotline_ws_queue(s, parts, lens, 1) != NGX_OK) {
        ngx_http_hotline_ws_finalize(s);
        goto done;
    }

    s->handler->start(s);

    if (!s->closed && left) {
        ngx_http_hotline_ws_input(s, ngx_http_hotline_rbuf,
                                  ngx_http_hotline_rbuf + left);
    }

    if (!s->closed) {
        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_http_hotline_ws_finalize(s);

        } else if (c->read->ready) {
            ngx_post_event(c->read, &ngx_posted_events);
        }
    }

done:

    ngx_http_hotline_ws_release(s);
}


/*
 * limit_conn counts a request until its pool goes: a proxied WebSocket
 * for its whole life, and so a hotline one, whose request is freed at the
 * upgrade.  limit_conn's cleanups (their data starts with one of its
 * zones) move to the connection's pool and run when the WebSocket ends.
 */

static ngx_int_t
ngx_http_hotline_ws_keep_limits(ngx_http_request_t *r, ngx_connection_t *c)
{
    void                **data;
    ngx_pool_cleanup_t   *cln, *moved;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {

        if (cln->handler == NULL || cln->data == NULL) {
            continue;
        }

        data = cln->data;

        if (!ngx_http_hotline_ws_is_limit(data[0])) {
            continue;
        }

        /* { shm_zone, node }: ngx_http_limit_conn_cleanup_t */

        moved = ngx_pool_cleanup_add(c->pool, 2 * sizeof(void *));
        if (moved == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(moved->data, data, 2 * sizeof(void *));
        moved->handler = cln->handler;

        cln->handler = NULL;
    }

    return NGX_OK;
}


/* whether zone is one of the running limit_conn_zone zones */

ngx_uint_t
ngx_http_hotline_ws_is_limit(void *zone)
{
    ngx_uint_t                     i;
    ngx_shm_zone_t                *shm_zone;
    ngx_http_hotline_list_iter_t   it;

    static ngx_module_t  *limit_conn;
    static ngx_cycle_t   *cycle;

    if (cycle != ngx_cycle) {
        cycle = (ngx_cycle_t *) ngx_cycle;
        limit_conn = NULL;

        for (i = 0; cycle->modules[i]; i++) {
            if (ngx_strcmp(cycle->modules[i]->name,
                           "ngx_http_limit_conn_module")
                == 0)
            {
                limit_conn = cycle->modules[i];
                break;
            }
        }
    }

    if (limit_conn == NULL) {
        return 0;
    }

    ngx_http_hotline_list_iter(&it, &cycle->shared_memory);

    while ((shm_zone = ngx_http_hotline_list_next(&it)) != NULL) {
        if (shm_zone == zone) {
            return shm_zone->tag == limit_conn;
        }
    }

    return 0;
}


void
ngx_http_hotline_ws_read(ngx_event_t *rev)
{
    ssize_t                      n;
    ngx_uint_t                   reads;
    ngx_connection_t            *c;
    ngx_http_hotline_ws_t  *s;

    c = rev->data;
    s = c->data;
    reads = 0;

    s->pending++;

    if (rev->timedout) {
        /* the handler's timer, or the lingering close's */
        rev->timedout = 0;
        ngx_http_hotline_ws_expired(s);

        if (s->closed || !rev->ready) {
            goto done;
        }
    }

    if (c->close) {
        /* the worker is shutting down: the client resumes elsewhere */
        ngx_http_hotline_ws_close(s, NGX_HOTLINE_WS_CLOSE_GOING_AWAY,
                                  "server restart");
        ngx_http_hotline_ws_finalize(s);
        goto done;
    }

    while (!s->closed) {

        if (s->pending > NGX_HOTLINE_READ_BUSY) {
            /*
             * the handler has much under way (a store that answers
             * later): the client waits, its bytes in the socket, until
             * half of it is done (ngx_http_hotline_ws_release())
             */
            s->read_held = 1;
            break;
        }

        if (reads++ == NGX_HOTLINE_READ_TURN) {
            /*
             * a burst: the rest after what this worker has to do (the
             * delivery to a reader here among it), so that a reader
             * keeps up with a writer (issue 15)
             */
            ngx_post_event(rev, &ngx_posted_events);
            break;
        }

        n = c->recv(c, ngx_http_hotline_rbuf, NGX_HOTLINE_READ_BUF);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_hotline_ws_finalize(s);
            }

            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            /* gone without a close frame: the grace period starts */
            c->error = 1;
            ngx_http_hotline_ws_finalize(s);
            break;
        }

        if (s->closing) {
            /* after our close frame only the peer's close matters */
            ngx_http_hotline_ws_answer(s, ngx_http_hotline_rbuf,
                                       ngx_http_hotline_rbuf + n);

            if (s->close_answered && !s->closed
                && (c->ssl == NULL || s->tls_shut))
            {
                /*
                 * both close frames seen: the peer read all we sent, the
                 * connection closes now (RFC 6455, 5.5.1), not when the
                 * peer closes its end or the linger ends; it held a
                 * limit_conn place and a worker's connection till then
                 */
                ngx_http_hotline_ws_finalize(s);
                break;
            }

            continue;
        }

        ngx_http_hotline_ws_input(s, ngx_http_hotline_rbuf,
                                  ngx_http_hotline_rbuf + n);
    }

done:

    ngx_http_hotline_ws_release(s);
}


/*
 * What comes after our close frame: only the peer's close counts.  A
 * close that answers ours says the peer read everything before it; the
 * handler is told once more (a session waits for it to let go of an
 * ended call).
 */

static void
ngx_http_hotline_ws_answer(ngx_http_hotline_ws_t *s, u_char *pos,
    u_char *last)
{
    ngx_int_t                      rc;
    ngx_http_hotline_ws_parser_t  *ps;

    ps = ngx_http_hotline_ws_parser(s);
    if (ps == NULL) {
        s->no_answer = 1;
        return;
    }

    while (pos < last && !s->close_answered && !s->closed) {

        rc = ngx_http_hotline_ws_parse(ps, &pos, last);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            /* a bad frame now: the peer is not heard any more */
            s->no_answer = 1;
            break;
        }

        if (ps->opcode == NGX_HOTLINE_WS_OP_TEXT
            || ps->opcode == NGX_HOTLINE_WS_OP_BINARY)
        {
            ngx_http_hotline_ws_parser_release(ps);
            continue;
        }

        ngx_http_hotline_ws_parser_release_control(ps);

        if (ps->opcode == NGX_HOTLINE_WS_OP_CLOSE) {
            s->close_answered = 1;
            s->handler->closed(s);
        }
    }

    ngx_http_hotline_ws_park(s, ps);

    if ((s->close_answered || s->no_answer) && s->connection->ssl
        && !s->tls_shut && !s->closed)
    {
        /* the TLS shutdown that waited for it */
        ngx_http_hotline_ws_linger(s);
    }
}


static void
ngx_http_hotline_ws_input(ngx_http_hotline_ws_t *s, u_char *pos,
    u_char *last)
{
    ngx_int_t                      rc;
    ngx_http_hotline_ws_parser_t  *ps;
    u_char                         buf[NGX_HOTLINE_WS_MAX_CONTROL];

    ps = ngx_http_hotline_ws_parser(s);
    if (ps == NULL) {
        ngx_http_hotline_ws_close(s, NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                  "out of memory");
        return;
    }

    while (pos < last && !s->closed && !s->closing) {

        rc = ngx_http_hotline_ws_parse(ps, &pos, last);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                          "hotline: client sent a bad frame: %s (%ui)",
                          ps->error, ps->error_code);
            s->no_answer = 1;
            ngx_http_hotline_ws_close(s, ps->error_code, ps->error);
            break;
        }

        s->received = 1;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                       "hotline ws: frame in, opcode %ui, %uz bytes",
                       ps->opcode, ps->len);

        switch (ps->opcode) {

        case NGX_HOTLINE_WS_OP_TEXT:
            /* its buffer takes the next message of the read */
            s->handler->message(s, ps->payload, ps->len);
            break;

        case NGX_HOTLINE_WS_OP_BINARY:
            ngx_http_hotline_ws_parser_release(ps);
            ngx_http_hotline_ws_close(s, NGX_HOTLINE_WS_CLOSE_UNSUPPORTED,
                                      "text messages only");
            break;

        case NGX_HOTLINE_WS_OP_PING:
            ngx_memcpy(buf, ps->payload, ps->len);
            (void) ngx_http_hotline_ws_send(s, NGX_HOTLINE_WS_OP_PONG,
                                            buf, ps->len);
            break;

        case NGX_HOTLINE_WS_OP_PONG:

            /*
             * any pong says the client is alive; which ping it answers,
             * its payload tells the handler (an unsolicited pong's is
             * anything)
             */

            s->awaiting_pong = 0;
            s->handler->pong(s, ps->payload, ps->len);

            break;

        case NGX_HOTLINE_WS_OP_CLOSE:
            /* echo the code, then the server closes TCP first */

            if (ps->close_code == NGX_HOTLINE_WS_CLOSE_NO_STATUS) {
                (void) ngx_http_hotline_ws_send(s, NGX_HOTLINE_WS_OP_CLOSE,
                                                NULL, 0);

            } else {
                buf[0] = (u_char) (ps->close_code >> 8);
                buf[1] = (u_char) (ps->close_code & 0xff);
                (void) ngx_http_hotline_ws_send(s, NGX_HOTLINE_WS_OP_CLOSE,
                                                buf, 2);
            }

            ngx_http_hotline_count_close(ps->close_code);

            s->handler->closed(s);
            s->closing = 1;
            s->no_answer = 1;
            s->peer_closed = 1;
            ngx_http_hotline_ws_linger(s);
            break;

        default:
            break;
        }

        /* a control frame's buffer is not kept */
        ngx_http_hotline_ws_parser_release_control(ps);
    }

    ngx_http_hotline_ws_park(s, ps);
}


/*
 * The parser of a read: the session's own while a frame or message is
 * split between reads, else the worker's one, zeroed (an idle connection
 * keeps no parser: 160 bytes less each)
 */

static ngx_http_hotline_ws_parser_t *
ngx_http_hotline_ws_parser(ngx_http_hotline_ws_t *s)
{
    ngx_http_hotline_ws_parser_t  *ps;

    if (s->parser) {
        return s->parser;
    }

    if (ngx_http_hotline_ws_shared_busy) {
        /* a read within a read: not the way events come, but safe */
        ps = ngx_alloc(sizeof(ngx_http_hotline_ws_parser_t),
                       s->connection->log);
        if (ps == NULL) {
            return NULL;
        }

        s->parser = ps;

    } else {
        ps = &ngx_http_hotline_ws_shared;
        ngx_http_hotline_ws_shared_busy = 1;
    }

    ngx_memzero(ps, sizeof(ngx_http_hotline_ws_parser_t));

    ps->max_message = s->conf->max_message;
    ps->alloc = ngx_http_hotline_ws_alloc;
    ps->free = ngx_http_hotline_ws_dealloc;
    ps->data = s->connection->log;

    return ps;
}


/* after a read: what is open between reads stays with the session */

static void
ngx_http_hotline_ws_park(ngx_http_hotline_ws_t *s,
    ngx_http_hotline_ws_parser_t *ps)
{
    ngx_http_hotline_ws_parser_t  *own;

    ngx_http_hotline_ws_parser_trim(ps);

    if (ps != &ngx_http_hotline_ws_shared) {
        /* its own (s->parser): kept while something is open */

        if (s->closed || ngx_http_hotline_ws_parser_idle(ps)) {
            ngx_http_hotline_ws_parser_release(ps);
            ngx_free(ps);
            s->parser = NULL;
        }

        return;
    }

    ngx_http_hotline_ws_shared_busy = 0;

    if (s->closed || ngx_http_hotline_ws_parser_idle(ps)) {
        ngx_http_hotline_ws_parser_release(ps);
        return;
    }

    own = ngx_alloc(sizeof(ngx_http_hotline_ws_parser_t), s->connection->log);
    if (own == NULL) {
        /* the part read so far would be lost: so is the connection */
        ngx_http_hotline_ws_parser_release(ps);
        s->no_answer = 1;
        ngx_http_hotline_ws_close(s, NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                  "out of memory");
        return;
    }

    ngx_memcpy(own, ps, sizeof(ngx_http_hotline_ws_parser_t));
    s->parser = own;
}


void
ngx_http_hotline_ws_write(ngx_event_t *wev)
{
    ngx_int_t                    rc;
    ngx_connection_t            *c;
    ngx_http_hotline_ws_t  *s;

    c = wev->data;
    s = c->data;

    s->pending++;

    rc = ngx_http_hotline_ws_flush(s);

    if (rc == NGX_ERROR) {
        ngx_http_hotline_ws_finalize(s);

    } else if (rc == NGX_OK && s->backlogged) {
        s->backlogged = 0;
        s->handler->writable(s);

    } else if (rc == NGX_OK && s->want_drained && !s->closed) {
        /* all written: the handler wanted to know (a hand-over) */
        s->handler->drained(s);
    }

    ngx_http_hotline_ws_release(s);
}


void
ngx_http_hotline_ws_timer(ngx_http_hotline_ws_t *s, ngx_msec_t ms)
{
    ngx_event_t  *rev;

    rev = s->connection->read;

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    if (ms) {
        ngx_add_timer(rev, ms);
    }
}


/* the read event's timer went off (ngx_http_hotline_ws_read() pins s) */

static void
ngx_http_hotline_ws_expired(ngx_http_hotline_ws_t *s)
{
    if (s->closing) {
        /* the peer did not close in time after our close frame */
        ngx_http_hotline_ws_finalize(s);

    } else {
        s->handler->timer(s);
    }
}


ngx_int_t
ngx_http_hotline_ws_send(ngx_http_hotline_ws_t *s, ngx_uint_t opcode,
    u_char *data, size_t len)
{
    u_char  *parts[2];
    size_t   lens[2];
    u_char   head[NGX_HOTLINE_WS_MAX_HEADER];

    if (s->closed || s->closing) {
        return NGX_DECLINED;
    }

    parts[0] = head;
    lens[0] = ngx_http_hotline_ws_frame_header(head, opcode, len);
    parts[1] = data;
    lens[1] = len;

    return ngx_http_hotline_ws_queue(s, parts, lens, 2);
}


/* a text message in two pieces (a buffered event and its "seq" tail) */

ngx_int_t
ngx_http_hotline_ws_send2(ngx_http_hotline_ws_t *s, u_char *data,
    size_t len, u_char *tail, size_t tail_len)
{
    u_char  *parts[3];
    size_t   lens[3];
    u_char   head[NGX_HOTLINE_WS_MAX_HEADER];

    if (s->closed || s->closing) {
        return NGX_DECLINED;
    }

    parts[0] = head;
    lens[0] = ngx_http_hotline_ws_frame_header(head, NGX_HOTLINE_WS_OP_TEXT,
                                               len + tail_len);
    parts[1] = data;
    lens[1] = len;
    parts[2] = tail;
    lens[2] = tail_len;

    return ngx_http_hotline_ws_queue(s, parts, lens, 3);
}


/*
 * Outgoing frames are written into buffers of this worker's, each kept
 * on a free list of its size: a frame goes behind the frames already in
 * the connection's last buffer when it fits, so that the frames of a
 * turn (relayed messages, their acks) cost no malloc() of their own and
 * go to writev() as a few buffers rather than one each.  A connection
 * with nothing queued takes a small buffer (a waiting customer's one
 * position of a wave holds no more than it needs), a connection with
 * more frames in the turn a chunk; a frame larger than a chunk gets a
 * buffer of its size.  Built with AddressSanitizer (make test-asan),
 * none is kept: a buffer used after it was sent is then found.
 */

#define NGX_HOTLINE_OUT_SMALL  0
#define NGX_HOTLINE_OUT_CHUNK  1

static size_t  ngx_http_hotline_out_size[] = { 512, 4096 };

#if defined(__SANITIZE_ADDRESS__)
static ngx_uint_t  ngx_http_hotline_out_max[] = { 0, 0 };
#else
/* 32 KiB and 64 KiB */
static ngx_uint_t  ngx_http_hotline_out_max[] = { 64, 16 };
#endif

static ngx_http_hotline_out_t  *ngx_http_hotline_out_kept[2];
static ngx_uint_t               ngx_http_hotline_out_nkept[2];


#define ngx_http_hotline_out_room(k)                                         \
    (ngx_http_hotline_out_size[k] - offsetof(ngx_http_hotline_out_t, data))

static ngx_http_hotline_out_t *
ngx_http_hotline_out_alloc(size_t size, ngx_uint_t more, ngx_log_t *log)
{
    ngx_uint_t               k;
    ngx_http_hotline_out_t  *out;

    if (size > ngx_http_hotline_out_room(NGX_HOTLINE_OUT_CHUNK)) {
        out = ngx_alloc(offsetof(ngx_http_hotline_out_t, data) + size, log);
        if (out == NULL) {
            return NULL;
        }

        ngx_memzero(&out->buf, sizeof(ngx_buf_t));

        out->buf.start = out->data;
        out->buf.end = out->data + size;

        return out;
    }

    k = (more || size > ngx_http_hotline_out_room(NGX_HOTLINE_OUT_SMALL))
        ? NGX_HOTLINE_OUT_CHUNK : NGX_HOTLINE_OUT_SMALL;

    out = ngx_http_hotline_out_kept[k];

    if (out) {
        ngx_http_hotline_out_kept[k] = (ngx_http_hotline_out_t *) out->cl.next;
        ngx_http_hotline_out_nkept[k]--;

    } else {
        out = ngx_alloc(ngx_http_hotline_out_size[k], log);
        if (out == NULL) {
            return NULL;
        }
    }

    ngx_memzero(&out->buf, sizeof(ngx_buf_t));

    out->buf.start = out->data;
    out->buf.end = out->data + ngx_http_hotline_out_room(k);
    out->buf.tag = (ngx_buf_tag_t) &ngx_http_hotline_out_kept[k];

    return out;
}


/* a kept size's buffer (its tag is its free list), or NGX_ERROR */

static ngx_int_t
ngx_http_hotline_out_kind(ngx_http_hotline_out_t *out)
{
    ngx_int_t  k;

    for (k = 0; k < 2; k++) {
        if (out->buf.tag == (ngx_buf_tag_t) &ngx_http_hotline_out_kept[k]) {
            return k;
        }
    }

    return NGX_ERROR;
}


static void
ngx_http_hotline_out_free(ngx_http_hotline_out_t *out)
{
    ngx_int_t  k;

    k = ngx_http_hotline_out_kind(out);

    if (k == NGX_ERROR
        || ngx_http_hotline_out_nkept[k] == ngx_http_hotline_out_max[k])
    {
        ngx_free(out);
        return;
    }

    out->cl.next = (ngx_chain_t *) ngx_http_hotline_out_kept[k];
    ngx_http_hotline_out_kept[k] = out;
    ngx_http_hotline_out_nkept[k]++;
}


/*
 * Queues the parts of a frame.  A queue that would grow past
 * hotline_send_queue closes the connection: the client cannot keep up
 * and resumes once it can.
 */

static ngx_int_t
ngx_http_hotline_ws_queue(ngx_http_hotline_ws_t *s, u_char **parts,
    size_t *lens, ngx_uint_t n)
{
    u_char                  *p;
    size_t                   total;
    ngx_uint_t               i;
    ngx_connection_t        *c;
    ngx_http_hotline_out_t  *out;

    c = s->connection;
    total = 0;

    for (i = 0; i < n; i++) {
        total += lens[i];
    }

    /* one message always fits: the queue bounds what waits behind it */

    if (s->out_bytes && s->out_bytes + total > s->conf->send_queue
        && !s->closing)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hotline: client does not read, %uz bytes queued",
                      s->out_bytes);

        /*
         * the message is dropped (it stays in the store for the resume),
         * the close frame goes behind what is queued
         */
        ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_SLOW,
                                  "slow consumer");
        return NGX_ERROR;
    }

    /*
     * behind the frames in the last buffer, if it has room (a buffer of
     * a large frame's own size has none)
     */

    out = s->out ? (ngx_http_hotline_out_t *) ((u_char *) s->out_last
                        - offsetof(ngx_http_hotline_out_t, cl.next))
                 : NULL;

    if (out == NULL || (size_t) (out->buf.end - out->buf.last) < total) {
        out = ngx_http_hotline_out_alloc(total, s->out != NULL, c->log);
        if (out == NULL) {
            ngx_http_hotline_ws_finalize(s);
            return NGX_ERROR;
        }

        out->buf.pos = out->data;
        out->buf.last = out->data;
        out->buf.temporary = 1;

        /*
         * every frame asks for a flush: nginx's TLS layer otherwise keeps
         * what it is given in its own buffer until a response would end
         */
        out->buf.flush = 1;

        out->cl.buf = &out->buf;
        out->cl.next = NULL;

        *s->out_last = &out->cl;
        s->out_last = &out->cl.next;
    }

    p = out->buf.last;

    for (i = 0; i < n; i++) {
        if (lens[i]) {
            p = ngx_cpymem(p, parts[i], lens[i]);
        }
    }

    out->buf.last = p;
    s->out_bytes += total;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "hotline ws: frame out, %uz bytes, %uz queued",
                   total, s->out_bytes);

    /*
     * Written at the end of this turn of the event loop, in one writev()
     * with whatever else this turn produces for the connection (the acks
     * of a batch of messages, a relayed message and the next): a system
     * call, and a wake-up of the reader, per turn rather than per frame.
     */

    if (c->write->ready) {
        if (!c->write->posted) {
            ngx_post_event(c->write, &ngx_posted_events);
        }

    } else if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_hotline_ws_finalize(s);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_ws_flush(ngx_http_hotline_ws_t *s)
{
    ngx_chain_t             *rest, *cl, *next;
    ngx_connection_t        *c;
    ngx_http_hotline_out_t  *out;

    c = s->connection;

    /* c->buffered: what TLS took but could not write yet */

    if (s->out == NULL && !c->buffered) {
        return NGX_OK;
    }

    rest = c->send_chain(c, s->out, 0);

    if (rest == NGX_CHAIN_ERROR) {
        c->error = 1;
        return NGX_ERROR;
    }

    for (cl = s->out; cl && cl != rest; cl = next) {
        next = cl->next;
        out = (ngx_http_hotline_out_t *) cl;
        s->out_bytes -= out->buf.last - out->buf.start;
        ngx_http_hotline_out_free(out);
    }

    s->out = rest;

    if (rest == NULL && !c->buffered) {
        s->out_last = &s->out;

#if (NGX_HTTP_SSL)
        if (c->ssl) {
            /*
             * all is written: the TLS write buffer (ssl_buffer_size, 16k)
             * goes until the next frame, as nginx frees it for a
             * keepalive connection; a waiting or quiet WebSocket keeps none
             */
            ngx_ssl_free_buffer(c);
        }
#endif

        if (s->backlogged && !s->closing) {
            /* more waits in the store: the write handler fetches it */
            ngx_post_event(c->write, &ngx_posted_events);
        }

        if (s->closing) {
            ngx_http_hotline_ws_linger(s);
        }

        return NGX_OK;
    }

    if (rest == NULL) {
        s->out_last = &s->out;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * Closes with a close frame: the rest is a lingering close (our half is
 * shut down once the frame is out, the peer's close or EOF ends it).
 */

void
ngx_http_hotline_ws_close(ngx_http_hotline_ws_t *s, ngx_uint_t code,
    const char *reason)
{
    u_char  *parts[2];
    size_t   len, lens[2];
    u_char   buf[NGX_HOTLINE_WS_MAX_CONTROL];
    u_char   head[NGX_HOTLINE_WS_MAX_HEADER];

    if (s->closed || s->closing) {
        return;
    }

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) (code & 0xff);

    len = ngx_min(ngx_strlen(reason), NGX_HOTLINE_WS_MAX_CONTROL - 2);
    ngx_memcpy(buf + 2, reason, len);

    /* the close frame may exceed hotline_send_queue: it is the last */
    s->closing = 1;

    parts[0] = head;
    lens[0] = ngx_http_hotline_ws_frame_header(head, NGX_HOTLINE_WS_OP_CLOSE,
                                               len + 2);
    parts[1] = buf;
    lens[1] = len + 2;

    ngx_http_hotline_count_close(code);

    if (ngx_http_hotline_ws_queue(s, parts, lens, 2) != NGX_OK
        || s->closed)
    {
        return;
    }

    /* the session ends now; the connection lingers a little */
    s->handler->closed(s);

    if (ngx_exiting || ngx_terminate) {
        /* no next turn of the event loop for it: the frame goes now */
        (void) ngx_http_hotline_ws_flush(s);
        ngx_http_hotline_ws_finalize(s);
        return;
    }

    ngx_http_hotline_ws_timer(s, NGX_HOTLINE_LINGER);

    if (s->out == NULL) {
        ngx_http_hotline_ws_linger(s);
    }
}


static void
ngx_http_hotline_ws_linger(ngx_http_hotline_ws_t *s)
{
    ngx_connection_t  *c;

    c = s->connection;

    if (s->out || c->buffered) {
        /* ngx_http_hotline_ws_flush() comes back here */
        return;
    }

#if (NGX_HTTP_SSL && nginx_version >= 1021001)

    /* TLS says it is done (close_notify) before TCP does, as nginx's own
     * lingering close; the TLS state is freed with the connection */

    if (c->ssl && !s->tls_shut && s->await_answer && !s->close_answered
        && !s->no_answer)
    {
        /*
         * our close frame went first: its answer comes over TLS, which
         * stays up for it (ngx_http_hotline_ws_answer() comes back)
         */

        if (!c->read->timer_set) {
            ngx_add_timer(c->read, NGX_HOTLINE_LINGER);
        }

        return;
    }

    if (c->ssl && !s->tls_shut) {
        ngx_int_t  rc;

        c->ssl->shutdown_without_free = 1;

        rc = ngx_ssl_shutdown(c);

        if (rc == NGX_AGAIN) {
            /* ngx_http_hotline_ws_tls_shut() comes back here */
            c->ssl->handler = ngx_http_hotline_ws_tls_shut;
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_hotline_ws_finalize(s);
            return;
        }

        s->tls_shut = 1;
    }

#endif

    if (c->ssl == NULL || s->tls_shut) {
        if (ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1) {
            ngx_http_hotline_ws_finalize(s);
            return;
        }

        if (s->peer_closed || s->close_answered) {
            /*
             * both close frames seen, ours out (over TLS, and the
             * close_notify, which may have waited for the socket): the
             * connection closes now (RFC 6455, 5.5.1); the peer sends
             * nothing after its close frame, so no reset can overtake
             * ours (after bad input the linger reads what still comes,
             * as nginx's lingering close does)
             */
            ngx_http_hotline_ws_finalize(s);
            return;
        }
    }

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, NGX_HOTLINE_LINGER);
    }
}


#if (NGX_HTTP_SSL && nginx_version >= 1021001)

/* the close_notify is out (or could not go out in time) */

static void
ngx_http_hotline_ws_tls_shut(ngx_connection_t *c)
{
    ngx_http_hotline_ws_t  *s;

    s = c->data;

    c->read->handler = ngx_http_hotline_ws_read;
    c->write->handler = ngx_http_hotline_ws_write;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    s->pending++;
    s->tls_shut = 1;

    if (c->timedout || c->error) {
        ngx_http_hotline_ws_finalize(s);

    } else {
        ngx_http_hotline_ws_linger(s);
    }

    ngx_http_hotline_ws_release(s);
}

#endif


/* the connection is done: the session ends, memory goes when unpinned */

void
ngx_http_hotline_ws_finalize(ngx_http_hotline_ws_t *s)
{
    ngx_chain_t  *cl, *next;

    if (s->closed) {
        return;
    }

    s->closed = 1;

    s->handler->closed(s);

    if (s->connection->read->timer_set) {
        ngx_del_timer(s->connection->read);
    }

    for (cl = s->out; cl; cl = next) {
        next = cl->next;
        ngx_http_hotline_out_free((ngx_http_hotline_out_t *) cl);
    }

    s->out = NULL;
    s->out_bytes = 0;

    if (s->parser) {
        /*
         * its buffers; the parser itself goes with the session, as a read
         * under way may still hold it (the worker's: ..._park())
         */
        ngx_http_hotline_ws_parser_release(s->parser);
    }
}


/* drops a pin on the session; the last one frees a finalized session */

void
ngx_http_hotline_ws_release(ngx_http_hotline_ws_t *s)
{
    if (s->read_held && s->pending <= NGX_HOTLINE_READ_BUSY / 2
        && !s->closed)
    {
        s->read_held = 0;
        ngx_post_event(s->connection->read, &ngx_posted_events);
    }

    if (--s->pending) {
        return;
    }

    if (s->closed) {
        ngx_http_hotline_ws_free(s);
        return;
    }

    if (s->close_later) {
        /* the answers of the messages before it are out: the close */
        s->pending++;
        ngx_http_hotline_ws_close(s, s->close_later, s->close_reason);
        s->close_later = 0;
        ngx_http_hotline_ws_release(s);
    }
}


static void
ngx_http_hotline_ws_free(ngx_http_hotline_ws_t *s)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    c = s->connection;

    if (s->parser) {
        ngx_free(s->parser);
        s->parser = NULL;
    }

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

#if (NGX_STAT_STUB)
    if (!s->moved) {
        /* (a connection handed over lives on in the other worker) */
        (void) ngx_atomic_fetch_add(ngx_stat_active, -1);
    }
#endif

    c->destroyed = 1;

    pool = c->pool;
    ngx_close_connection(c);

    /* the session itself lives in the connection's pool */
    ngx_destroy_pool(pool);
    ngx_http_hotline_trim_note();
}


static void *
ngx_http_hotline_ws_alloc(size_t size, void *data)
{
    return ngx_alloc(size, data);
}


static void
ngx_http_hotline_ws_dealloc(void *p, void *data)
{
    ngx_free(p);
}
