
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_ws.h"
#include "ngx_http_hotline_call.h"


/*
 * A signaling session: one WebSocket connection of a customer or an
 * agent, in the worker that holds it.
 */
struct ngx_http_hotline_session_s {
    ngx_http_hotline_ws_t          ws;             /* first: its connection */
    ngx_http_hotline_main_conf_t  *main_conf;

    ngx_queue_t                    local;          /* worker's sessions */

    ngx_http_hotline_ref_t         ref;            /* its party */
    uint64_t                       ticket;         /* queue order */
    ngx_uint_t                     position;       /* last one sent */
    ngx_uint_t                     eta;
    int64_t                        position_since; /* ms */

    u_char                         call_id[NGX_HOTLINE_ID_HEX];
    u_char                         sub[NGX_HOTLINE_NAME_MAX];
    size_t                         sub_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         display_len;    /* agent: shown name */

    /* an agent's token: it closes the connection when revoked or over */
    u_char                         jti[NGX_HOTLINE_NAME_MAX];
    size_t                         jti_len;
    time_t                         exp;

    ngx_msec_t                     tat;            /* message rate, GCRA */
    ngx_uint_t                     strikes;

    unsigned                       role:2;
    unsigned                       established:1;  /* joined or resumed */
    unsigned                       waiting:1;      /* customer in queue */
    unsigned                       queue_dirty:1;
};


extern ngx_http_hotline_ws_handler_t  ngx_http_hotline_session_handler;


/* ngx_http_hotline_session.c */
ngx_int_t ngx_http_hotline_session_init_worker(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_ */
