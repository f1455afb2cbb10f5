
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_WS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_WS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_ws_frame.h"


/*
 * A WebSocket connection after the upgrade (ngx_http_hotline_ws.c): the
 * transport.  What the connection is for (the signaling session) is told
 * of its events through the handler it was given.
 */


typedef struct ngx_http_hotline_ws_s  ngx_http_hotline_ws_t;

typedef struct {
    void   (*start)(ngx_http_hotline_ws_t *ws);     /* upgraded */
    void   (*message)(ngx_http_hotline_ws_t *ws, u_char *data, size_t len);
    void   (*writable)(ngx_http_hotline_ws_t *ws);  /* backlogged, drained */
    void   (*timer)(ngx_http_hotline_ws_t *ws);
    void   (*pong)(ngx_http_hotline_ws_t *ws, u_char *data, size_t len);
                                                    /* the echo of a
                                                       ping's payload */
    void   (*closed)(ngx_http_hotline_ws_t *ws);
    void   (*drained)(ngx_http_hotline_ws_t *ws);   /* want_drained: all
                                                       queued was written */
} ngx_http_hotline_ws_handler_t;


/* a queued outgoing frame (or what is left of it) */
typedef struct {
    ngx_chain_t                    cl;
    ngx_buf_t                      buf;
    u_char                         data[1];
} ngx_http_hotline_out_t;


struct ngx_http_hotline_ws_s {
    ngx_connection_t              *connection;
    ngx_str_t                      addr;           /* the client, as the
                                                      request saw it */
    ngx_http_hotline_loc_conf_t   *conf;
    ngx_http_hotline_ws_handler_t *handler;

    ngx_http_hotline_ws_parser_t  *parser;         /* its own, only while
                                                      a frame or message
                                                      is split between
                                                      reads; NULL: none */

    ngx_chain_t                   *out;            /* send queue */
    ngx_chain_t                  **out_last;
    size_t                         out_bytes;

    const char                    *close_reason;
    uint32_t                       pending;        /* pins: work under way */

    unsigned                       awaiting_pong:1;
    unsigned                       received:1;     /* a frame since ping */
    unsigned                       closing:1;      /* close frame sent */
    unsigned                       close_answered:1; /* the peer's close
                                                      came after ours: it
                                                      read what we sent */
    unsigned                       await_answer:1; /* the handler wants to
                                                      know it was read: TLS
                                                      stays up for it */
    unsigned                       no_answer:1;    /* none to wait for: the
                                                      peer's close came
                                                      first, or bad input */
    unsigned                       peer_closed:1;  /* the peer's close came
                                                      first */
    unsigned                       closed:1;       /* freed when !pending */
    unsigned                       subprotocol:1;
    unsigned                       upgraded:1;
    unsigned                       backlogged:1;   /* the handler has more */
    unsigned                       read_held:1;    /* the handler is busy */
    unsigned                       tls_shut:1;     /* close_notify sent */
    unsigned                       want_drained:1; /* tell the handler */
    unsigned                       moved:1;        /* handed to another
                                                      worker: gone here */
    unsigned                       close_later:16; /* code, once !pending */
};


ngx_int_t ngx_http_hotline_ws_start(ngx_http_request_t *r,
    ngx_http_hotline_ws_t *ws);
ngx_int_t ngx_http_hotline_ws_send(ngx_http_hotline_ws_t *ws,
    ngx_uint_t opcode, u_char *data, size_t len);
ngx_int_t ngx_http_hotline_ws_send2(ngx_http_hotline_ws_t *ws,
    u_char *data, size_t len, u_char *tail, size_t tail_len);
/*
 * The handler's timer (ms 0: none), which is the connection's read
 * event's: an idle connection keeps no event of its own
 */
void ngx_http_hotline_ws_timer(ngx_http_hotline_ws_t *ws, ngx_msec_t ms);
void ngx_http_hotline_ws_close(ngx_http_hotline_ws_t *ws, ngx_uint_t code,
    const char *reason);
void ngx_http_hotline_ws_finalize(ngx_http_hotline_ws_t *ws);
void ngx_http_hotline_ws_release(ngx_http_hotline_ws_t *ws);

/* the connection's event handlers (ngx_http_hotline_ws_move.c sets them) */
void ngx_http_hotline_ws_read(ngx_event_t *rev);
void ngx_http_hotline_ws_write(ngx_event_t *wev);
ngx_uint_t ngx_http_hotline_ws_is_limit(void *zone);


#endif /* _NGX_HTTP_HOTLINE_WS_H_INCLUDED_ */
