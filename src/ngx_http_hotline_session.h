
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_ws_frame.h"
#include "ngx_http_hotline_call.h"


/* a queued outgoing frame (or what is left of it) */
typedef struct {
    ngx_chain_t                    cl;
    ngx_buf_t                      buf;
    u_char                         data[1];
} ngx_http_hotline_out_t;


/* one WebSocket connection: lives in the worker that owns it */
struct ngx_http_hotline_session_s {
    ngx_connection_t              *connection;
    ngx_http_request_t            *request;        /* until the upgrade */
    ngx_str_t                      accept;         /* idem */
    ngx_http_hotline_loc_conf_t   *conf;
    ngx_http_hotline_main_conf_t  *main_conf;

    ngx_http_hotline_ws_parser_t   parser;

    ngx_chain_t                   *out;            /* send queue */
    ngx_chain_t                  **out_last;
    size_t                         out_bytes;

    ngx_event_t                    timer;          /* handshake, ping */
    ngx_queue_t                    local;          /* worker's sessions */

    ngx_http_hotline_ref_t         ref;            /* its party */
    uint64_t                       ticket;         /* queue order */
    ngx_uint_t                     position;       /* last one sent */
    ngx_uint_t                     eta;

    u_char                         call_id[NGX_HOTLINE_ID_HEX];
    u_char                         sub[NGX_HOTLINE_NAME_MAX];
    size_t                         sub_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         display_len;    /* agent: shown name */
    ngx_str_t                      addr;           /* customer: client */

    /* an agent's token: it closes the connection when revoked or over */
    u_char                         jti[NGX_HOTLINE_NAME_MAX];
    size_t                         jti_len;
    time_t                         exp;

    ngx_uint_t                     pending;        /* store ops under way */
    ngx_msec_t                     tat;            /* message rate, GCRA */
    ngx_uint_t                     strikes;
    ngx_uint_t                     close_code;
    ngx_uint_t                     close_later;    /* code, once !pending */
    const char                    *close_reason;

    unsigned                       role:2;
    unsigned                       established:1;  /* joined or resumed */
    unsigned                       waiting:1;      /* customer in queue */
    unsigned                       awaiting_pong:1;
    unsigned                       received:1;     /* a frame since ping */
    unsigned                       closing:1;      /* close frame sent */
    unsigned                       closed:1;       /* freed when !pending */
    unsigned                       queue_dirty:1;
    unsigned                       subprotocol:1;
    unsigned                       upgraded:1;
    unsigned                       backlogged:1;   /* more in the store */
};


/* ngx_http_hotline_ws.c */
ngx_int_t ngx_http_hotline_ws_start(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s);
ngx_int_t ngx_http_hotline_ws_send(ngx_http_hotline_session_t *s,
    ngx_uint_t opcode, u_char *data, size_t len);
ngx_int_t ngx_http_hotline_ws_send2(ngx_http_hotline_session_t *s,
    u_char *data, size_t len, u_char *tail, size_t tail_len);
void ngx_http_hotline_ws_close(ngx_http_hotline_session_t *s,
    ngx_uint_t code, const char *reason);
void ngx_http_hotline_ws_finalize(ngx_http_hotline_session_t *s);
void ngx_http_hotline_ws_release(ngx_http_hotline_session_t *s);

/* ngx_http_hotline_session.c */
ngx_int_t ngx_http_hotline_session_init_worker(ngx_cycle_t *cycle);
void ngx_http_hotline_session_start(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_message(ngx_http_hotline_session_t *s,
    u_char *data, size_t len);
void ngx_http_hotline_session_timer(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_closed(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_deliver(ngx_http_hotline_session_t *s);


#endif /* _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_ */
