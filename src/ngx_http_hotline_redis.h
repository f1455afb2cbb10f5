
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_REDIS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_hotline_resp.h"


/*
 * hiredis' asynchronous client on nginx's event loop: the socket of a
 * redisAsyncContext becomes an nginx connection, hiredis' add/del hooks
 * become level-triggered read and write events, and a timer bounds the
 * connect.  No threads.
 */


/* the first read buffer of a connection, and the longest reply taken */
#define NGX_HOTLINE_REDIS_READ         16384
#define NGX_HOTLINE_REDIS_REPLY_MAX    NGX_HOTLINE_RESP_MAX


typedef struct ngx_http_hotline_redis_s  ngx_http_hotline_redis_t;

typedef void (*ngx_http_hotline_redis_pt)(ngx_http_hotline_redis_t *rc);

struct ngx_http_hotline_redis_s {
    redisAsyncContext           *ac;
    ngx_connection_t            *conn;
    ngx_log_t                   *log;
    ngx_event_t                  timer;         /* connect timeout */
    ngx_event_t                  flush;         /* write what is queued */
    const char                  *what;          /* for the log */

    /* the socket is connected (not yet authenticated) */
    ngx_http_hotline_redis_pt    connected;

    /* the context is gone: failed connect, lost connection or close */
    ngx_http_hotline_redis_pt    gone;

    void                        *data;

    /* what Redis sent, looked at before hiredis gets it: a whole reply */
    u_char                      *in;
    size_t                       in_len;
    size_t                       in_size;

    unsigned                     subscriber:1;
    unsigned                     closing:1;
    unsigned                     writing:1;
};


ngx_int_t ngx_http_hotline_redis_open(ngx_http_hotline_redis_t *rc,
    const char *ip, int port, ngx_msec_t timeout);
void ngx_http_hotline_redis_close(ngx_http_hotline_redis_t *rc);
void ngx_http_hotline_redis_flush(ngx_http_hotline_redis_t *rc);


#endif /* _NGX_HTTP_HOTLINE_REDIS_H_INCLUDED_ */
