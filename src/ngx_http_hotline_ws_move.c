
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_hotline_ws_move.h"
#include "ngx_http_hotline_move.h"


/*
 * A WebSocket connection handed to another worker of the node, between
 * two frames: nothing half read (no parser of its own), nothing unsent,
 * no TLS (its keys are this process' OpenSSL state).  What goes with the
 * descriptor is what nginx and this module made of the connection: its
 * addresses, its listening socket and location (pointers that are the
 * same in every worker of one generation), its number, and its
 * limit_conn places, which the receiver releases when it closes.
 *
 * The socket leaves this worker's epoll before it goes: the other
 * worker's descriptor keeps the socket open, so closing ours would not
 * take it out of our epoll set.
 */


static u_char *ngx_http_hotline_ws_move_log(ngx_log_t *log, u_char *buf,
    size_t len);
static ngx_listening_t *ngx_http_hotline_ws_move_listening(
    ngx_http_hotline_ws_move_t *m);
static void ngx_http_hotline_ws_move_release(ngx_http_hotline_ws_move_t *m);
static void ngx_http_hotline_ws_move_uncount(void);


ngx_int_t
ngx_http_hotline_ws_hand_over(ngx_http_hotline_ws_t *ws, ngx_pid_t pid,
    u_char *buf, size_t len)
{
    void                        **data;
    ngx_int_t                     rc;
    ngx_uint_t                    i, n;
    ngx_connection_t             *c;
    ngx_pool_cleanup_t           *cln, *moved[NGX_HOTLINE_WS_MOVE_LIMITS];
    ngx_http_hotline_ws_move_t   *m;

    c = ws->connection;

    if (c->ssl || !(ngx_event_flags & NGX_USE_EPOLL_EVENT)
        || len < sizeof(ngx_http_hotline_ws_move_t)
        || len > NGX_HOTLINE_MOVE_MAX)
    {
        return NGX_ERROR;
    }

    /* the caller's pin is the only one: nothing else under way */

    if (ws->closed || ws->closing || !ws->upgraded || ws->pending != 1
        || ws->parser || ws->out || c->buffered || ws->backlogged
        || ws->read_held || ws->close_later || c->error || c->close
        || ngx_http_hotline_move_busy(pid))
    {
        return NGX_DECLINED;
    }

    m = (ngx_http_hotline_ws_move_t *) buf;
    ngx_memzero(m, sizeof(ngx_http_hotline_ws_move_t));

    m->magic = NGX_HOTLINE_WS_MOVE_MAGIC;
    m->size = (uint32_t) len;
    m->generation = ngx_http_hotline_generation;
    m->conf = ws->conf;
    m->listening = c->listening;
    m->number = c->number;
    m->start_time = c->start_time;

    m->socklen = c->socklen;
    ngx_memcpy(&m->sockaddr, c->sockaddr, c->socklen);

    if (c->local_sockaddr) {
        m->local_socklen = c->local_socklen;
        ngx_memcpy(&m->local_sockaddr, c->local_sockaddr, c->local_socklen);
    }

    m->addr_text_len = ngx_min(c->addr_text.len, NGX_SOCKADDR_STRLEN);
    ngx_memcpy(m->addr_text, c->addr_text.data, m->addr_text_len);

    m->addr_len = ngx_min(ws->addr.len, NGX_HOTLINE_CLIENT_KEY);
    ngx_memcpy(m->addr, ws->addr.data, m->addr_len);

    m->subprotocol = ws->subprotocol;
    m->awaiting_pong = ws->awaiting_pong;
    m->received = ws->received;

    /* its limit_conn places (ngx_http_hotline_ws_keep_limits()) */

    n = 0;

    for (cln = c->pool->cleanup; cln; cln = cln->next) {

        if (cln->handler == NULL || cln->data == NULL) {
            continue;
        }

        data = cln->data;

        if (!ngx_http_hotline_ws_is_limit(data[0])) {
            continue;
        }

        if (n == NGX_HOTLINE_WS_MOVE_LIMITS) {
            return NGX_ERROR;
        }

        m->limits[n].handler = cln->handler;
        m->limits[n].data[0] = data[0];
        m->limits[n].data[1] = data[1];
        moved[n++] = cln;
    }

    m->nlimits = n;

    if ((c->read->active || c->write->active)
        && ngx_del_conn(c, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_hotline_move_send(pid, c->fd, buf, len);

    if (rc != NGX_OK) {
        /* back in this worker's epoll: the next read puts it there */
        c->read->ready = 1;

        if (!c->read->posted) {
            ngx_post_event(c->read, &ngx_posted_events);
        }

        return rc == NGX_AGAIN ? NGX_DECLINED : NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "hotline ws: handed over to worker %P", pid);

    /* the other worker releases them */
    for (i = 0; i < n; i++) {
        moved[i]->handler = NULL;
    }

    ws->moved = 1;
    ngx_http_hotline_ws_finalize(ws);

    return NGX_OK;
}


/*
 * the listening socket a hand-over names, when it is of this generation
 * and its shape: else NULL, and its pointers mean nothing here
 */

static ngx_listening_t *
ngx_http_hotline_ws_move_listening(ngx_http_hotline_ws_move_t *m)
{
    ngx_uint_t        i;
    ngx_listening_t  *ls, *lss;

    ls = NULL;

    if (m->magic == NGX_HOTLINE_WS_MOVE_MAGIC
        && m->generation == ngx_http_hotline_generation
        && m->conf != NULL
        && m->socklen > 0 && m->socklen <= sizeof(ngx_sockaddr_t)
        && m->local_socklen <= sizeof(ngx_sockaddr_t)
        && m->addr_text_len <= NGX_SOCKADDR_STRLEN
        && m->addr_len <= NGX_HOTLINE_CLIENT_KEY
        && m->nlimits <= NGX_HOTLINE_WS_MOVE_LIMITS)
    {
        lss = ngx_cycle->listening.elts;

        for (i = 0; i < ngx_cycle->listening.nelts; i++) {
            if (&lss[i] == m->listening) {
                ls = &lss[i];
                break;
            }
        }

        for (i = 0; ls && i < m->nlimits; i++) {
            if (m->limits[i].handler == NULL
                || !ngx_http_hotline_ws_is_limit(m->limits[i].data[0]))
            {
                ls = NULL;
            }
        }
    }

    return ls;
}


ngx_connection_t *
ngx_http_hotline_ws_adopt(ngx_socket_t fd, ngx_http_hotline_ws_move_t *m)
{
    ngx_log_t         *log;
    ngx_pool_t        *pool;
    ngx_listening_t   *ls;
    ngx_connection_t  *c;

    ls = ngx_http_hotline_ws_move_listening(m);

    if (ls == NULL) {
        /* another generation's: its pointers mean nothing here */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: a hand-over of another generation or "
                      "shape, its connection closed");

        ngx_http_hotline_ws_move_uncount();
        (void) ngx_close_socket(fd);
        return NULL;
    }

    pool = ngx_create_pool(ls->pool_size, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
    }

    log = ngx_palloc(pool, sizeof(ngx_log_t));
    if (log == NULL) {
        ngx_destroy_pool(pool);
        goto failed;
    }

    *log = ls->log;

    c = ngx_get_connection(fd, log);
    if (c == NULL) {
        /* (worker_connections are not enough: logged) */
        ngx_destroy_pool(pool);
        goto failed;
    }

    c->pool = pool;
    pool->log = log;
    c->type = SOCK_STREAM;
    c->listening = ls;
    c->number = m->number;
    c->start_time = m->start_time;

    c->recv = ngx_recv;
    c->send = ngx_send;
    c->recv_chain = ngx_recv_chain;
    c->send_chain = ngx_send_chain;
    c->log_error = NGX_ERROR_INFO;

    c->sockaddr = ngx_palloc(pool, m->socklen);
    c->addr_text.data = ngx_pnalloc(pool, m->addr_text_len + 1);

    if (c->sockaddr == NULL || c->addr_text.data == NULL) {
        ngx_http_hotline_ws_drop(c, m);
        return NULL;
    }

    ngx_memcpy(c->sockaddr, &m->sockaddr, m->socklen);
    c->socklen = m->socklen;

    c->addr_text.len = m->addr_text_len;
    ngx_memcpy(c->addr_text.data, m->addr_text, m->addr_text_len);

    if (m->local_socklen) {
        c->local_sockaddr = ngx_palloc(pool, m->local_socklen);
        if (c->local_sockaddr == NULL) {
            ngx_http_hotline_ws_drop(c, m);
            return NULL;
        }

        ngx_memcpy(c->local_sockaddr, &m->local_sockaddr, m->local_socklen);
        c->local_socklen = m->local_socklen;
    }

    log->connection = c->number;
    log->handler = ngx_http_hotline_ws_move_log;
    log->data = c;
    log->action = "serving hotline signaling";

    c->read->log = log;
    c->write->log = log;

    /* it could write when it left; EAGAIN says otherwise */
    c->write->ready = 1;

    return c;

failed:

    ngx_http_hotline_ws_move_release(m);

    ngx_http_hotline_ws_move_uncount();
    (void) ngx_close_socket(fd);

    return NULL;
}


void
ngx_http_hotline_ws_adopted(ngx_http_hotline_ws_t *ws, ngx_connection_t *c,
    ngx_http_hotline_ws_move_t *m, ngx_http_hotline_ws_handler_t *handler)
{
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    ws->connection = c;
    ws->conf = m->conf;
    ws->handler = handler;
    ws->out_last = &ws->out;
    ws->upgraded = 1;
    ws->subprotocol = m->subprotocol;
    ws->awaiting_pong = m->awaiting_pong;
    ws->received = m->received;

    ws->addr.data = ngx_pnalloc(c->pool, m->addr_len ? m->addr_len : 1);
    ws->addr.len = ws->addr.data ? m->addr_len : 0;

    if (ws->addr.len) {
        ngx_memcpy(ws->addr.data, m->addr, m->addr_len);
    }

    /* its limit_conn places, released when it closes */

    for (i = 0; i < m->nlimits; i++) {
        cln = ngx_pool_cleanup_add(c->pool, 2 * sizeof(void *));

        if (cln == NULL) {
            /* not kept: not counted any more */
            m->limits[i].handler(m->limits[i].data);
            continue;
        }

        ngx_memcpy(cln->data, m->limits[i].data, 2 * sizeof(void *));
        cln->handler = m->limits[i].handler;
    }

    c->data = ws;
    c->read->handler = ngx_http_hotline_ws_read;
    c->write->handler = ngx_http_hotline_ws_write;

    /* as after the upgrade (ngx_http_hotline_ws.c) */
    c->idle = 1;
    c->read->cancelable = 1;
}


/* reading starts: what came meanwhile first, then epoll's word */

void
ngx_http_hotline_ws_go(ngx_http_hotline_ws_t *ws)
{
    ngx_connection_t  *c;

    c = ws->connection;

    if (ws->closed) {
        return;
    }

    c->read->ready = 1;

    if (!c->read->posted) {
        ngx_post_event(c->read, &ngx_posted_events);
    }
}


void
ngx_http_hotline_ws_drop(ngx_connection_t *c, ngx_http_hotline_ws_move_t *m)
{
    ngx_pool_t  *pool;

    ngx_http_hotline_ws_move_release(m);

    ngx_http_hotline_ws_move_uncount();

    pool = c->pool;
    ngx_close_connection(c);
    ngx_destroy_pool(pool);
}


/*
 * a hand-over that came as this worker exits (ngx_http_hotline_move.c):
 * the connection ends here, its client resumes as after any drop
 */

void
ngx_http_hotline_ws_refuse(ngx_socket_t fd, ngx_http_hotline_ws_move_t *m)
{
    if (ngx_http_hotline_ws_move_listening(m)) {
        ngx_http_hotline_ws_move_release(m);
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "hotline: a connection handed over as this worker exits, "
                  "closed");

    ngx_http_hotline_ws_move_uncount();
    (void) ngx_close_socket(fd);
}


/* limit_conn places of a connection that does not go on */

static void
ngx_http_hotline_ws_move_release(ngx_http_hotline_ws_move_t *m)
{
    ngx_uint_t  i;

    for (i = 0; i < m->nlimits; i++) {
        m->limits[i].handler(m->limits[i].data);
    }

    m->nlimits = 0;
}


/*
 * a connection handed over that ends here without a session: the worker
 * it left still counted it (stub_status)
 */

static void
ngx_http_hotline_ws_move_uncount(void)
{
#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_active, -1);
#endif
}


static u_char *
ngx_http_hotline_ws_move_log(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char            *p;
    ngx_connection_t  *c;

    c = log->data;
    p = buf;

    if (log->action) {
        p = ngx_snprintf(p, len, " while %s", log->action);
        len -= p - buf;
    }

    return ngx_snprintf(p, len, ", client: %V", &c->addr_text);
}
