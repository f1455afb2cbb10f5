
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_WS_MOVE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_WS_MOVE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_ws.h"
#include "ngx_http_hotline_guard.h"


/*
 * A WebSocket connection handed to another worker of the node
 * (ngx_http_hotline_ws_move.c): what its transport is, ahead of what
 * its handler adds.
 */

#define NGX_HOTLINE_WS_MOVE_MAGIC   0x766d6c68     /* "hlmv" */
#define NGX_HOTLINE_WS_MOVE_LIMITS  4


typedef struct {
    ngx_pool_cleanup_pt            handler;
    void                          *data[2];    /* limit_conn's cleanup */
} ngx_http_hotline_ws_limit_t;


typedef struct {
    uint32_t                       magic;
    uint32_t                       size;       /* the whole hand-over's */
    uint64_t                       generation;
    ngx_http_hotline_loc_conf_t   *conf;
    ngx_listening_t               *listening;
    ngx_atomic_uint_t              number;
    ngx_msec_t                     start_time;
    socklen_t                      socklen;
    socklen_t                      local_socklen;
    ngx_sockaddr_t                 sockaddr;
    ngx_sockaddr_t                 local_sockaddr;
    size_t                         addr_text_len;
    u_char                         addr_text[NGX_SOCKADDR_STRLEN];
    size_t                         addr_len;
    u_char                         addr[NGX_HOTLINE_CLIENT_KEY];
    ngx_uint_t                     nlimits;
    ngx_http_hotline_ws_limit_t    limits[NGX_HOTLINE_WS_MOVE_LIMITS];
    unsigned                       subprotocol:1;
    unsigned                       awaiting_pong:1;
    unsigned                       received:1;
} ngx_http_hotline_ws_move_t;


/*
 * Hands ws to worker pid: buf starts with room for the transport's part
 * (filled here), the handler's follows, len in all.  NGX_DECLINED: not
 * now (something is half read or unsent, the worker's queue is full);
 * NGX_ERROR: it cannot go
 * (TLS, no such worker), the connection stays here as it was; NGX_OK:
 * gone, the handler was told closed() with ws->moved set.
 */
ngx_int_t ngx_http_hotline_ws_hand_over(ngx_http_hotline_ws_t *ws,
    ngx_pid_t pid, u_char *buf, size_t len);

/*
 * The receiving side: the connection of a hand-over (NULL: refused, fd
 * closed); then ws, allocated in its pool, takes it over, and reads once
 * its handler says go
 */
ngx_connection_t *ngx_http_hotline_ws_adopt(ngx_socket_t fd,
    ngx_http_hotline_ws_move_t *m);
void ngx_http_hotline_ws_adopted(ngx_http_hotline_ws_t *ws,
    ngx_connection_t *c, ngx_http_hotline_ws_move_t *m,
    ngx_http_hotline_ws_handler_t *handler);
void ngx_http_hotline_ws_go(ngx_http_hotline_ws_t *ws);
/* a connection adopted that gets no ws (out of memory) */
void ngx_http_hotline_ws_drop(ngx_connection_t *c,
    ngx_http_hotline_ws_move_t *m);
/* a hand-over that came as the worker exits: what it holds released */
void ngx_http_hotline_ws_refuse(ngx_socket_t fd,
    ngx_http_hotline_ws_move_t *m);


#endif /* _NGX_HTTP_HOTLINE_WS_MOVE_H_INCLUDED_ */
