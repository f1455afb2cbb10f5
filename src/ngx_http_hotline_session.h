
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
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_proto_desk.h"


/*
 * A signaling session: one WebSocket connection of a customer or an
 * agent, in the worker that holds it.
 */
/* who an agent is, from its token: a customer's session has none */
typedef struct {
    u_char                         sub[NGX_HOTLINE_NAME_MAX];
    size_t                         sub_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         display_len;    /* the shown name */

    /* its token: it closes the connection when revoked or over */
    u_char                         jti[NGX_HOTLINE_NAME_MAX];
    size_t                         jti_len;
    time_t                         exp;

    int64_t                        resume_from;    /* last_seq, or -1 */
} ngx_http_hotline_agent_id_t;


struct ngx_http_hotline_session_s {
    ngx_http_hotline_ws_t          ws;             /* first: its connection */

    ngx_queue_t                    local;          /* worker's sessions */
    ngx_queue_t                    ops;            /* messages not yet
                                                      answered, in order */
    uint16_t                       ops_n;          /* how many (at most
                                                      ANSWERS_MAX) */

    unsigned                       role:2;
    unsigned                       established:1;  /* joined or resumed */
    unsigned                       waiting:1;      /* customer in queue */
    unsigned                       queue_dirty:1;
    unsigned                       fresh:1;        /* resumed from seq 0 */
    unsigned                       banned:1;       /* its client */
    unsigned                       ended:1;        /* its end was sent */
    unsigned                       connected:1;    /* its page's media */
    unsigned                       detach_held:1;  /* until the client
                                                      answers the close */
    unsigned                       move:2;         /* hotline_colocate:
                                                      NGX_HOTLINE_MOVE_* */
    unsigned                       move_tries:5;

    uint32_t                       strikes;        /* messages over the
                                                      rate, in a row */

    ngx_http_hotline_ref_t         ref;            /* its party */
    uint64_t                       ticket;         /* queue order */
    uint32_t                       position;       /* last one sent */
    uint32_t                       eta;            /* (its seconds, up to
                                                      NGX_MAX_UINT32_VALUE:
                                                      unknown) */
    ngx_msec_t                     position_at;    /* ... sent then */
    int64_t                        position_since; /* ms */

    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    ngx_http_hotline_agent_id_t   *agent;          /* a customer's: empty */

    uint64_t                       ping_seq;       /* delivered before the
                                                      last ping */
    uint32_t                       ping_n;         /* pings sent: the
                                                      last one's payload */
    uint32_t                       unconfirmed;    /* bytes delivered
                                                      since it */
    ngx_msec_t                     accepted_at;    /* this connection saw
                                                      its call accepted */
    ngx_msec_t                     tat;            /* message rate, GCRA */
};


extern ngx_http_hotline_ws_handler_t  ngx_http_hotline_session_handler;
extern ngx_http_hotline_agent_id_t    ngx_http_hotline_no_agent;


/* ngx_http_hotline_session.c */
ngx_int_t ngx_http_hotline_session_init_worker(ngx_cycle_t *cycle);
void ngx_http_hotline_session_join(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_deliver(ngx_http_hotline_session_t *s);
void ngx_http_hotline_established(ngx_http_hotline_session_t *s);

/*
 * ngx_http_hotline_session_move.c: a customer's connection handed to the
 * worker of the agent it talks to (hotline_colocate), and taken there
 */
#define NGX_HOTLINE_MOVE_NONE      0
#define NGX_HOTLINE_MOVE_WANTED    1       /* once nothing is under way */
#define NGX_HOTLINE_MOVE_DONE      2       /* moved here, or stays */

void ngx_http_hotline_session_move_want(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_drained(ngx_http_hotline_ws_t *ws);
void ngx_http_hotline_session_adopt(ngx_socket_t fd, u_char *msg,
    size_t len);
void ngx_http_hotline_session_refuse(ngx_socket_t fd, u_char *msg,
    size_t len);

/*
 * ngx_http_hotline_session_desk.c: the support desk's messages; done
 * answers the client's message (op: what the session made for it)
 */
void ngx_http_hotline_session_desk(ngx_http_hotline_session_t *s, void *op,
    ngx_http_hotline_call_pt done, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d);
u_char *ngx_http_hotline_session_ended(u_char *p,
    ngx_http_hotline_event_t *ev);
void ngx_http_hotline_session_event(ngx_http_hotline_session_t *s,
    ngx_http_hotline_event_t *ev);

/* ngx_http_hotline_ban.c */
ngx_str_t *ngx_http_hotline_ban_key(u_char *addr, size_t len);
ngx_int_t ngx_http_hotline_ban_client(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res, ngx_http_hotline_kv_pt stored,
    void *data);
void ngx_http_hotline_ban_check(ngx_http_hotline_session_t *s);
ngx_uint_t ngx_http_hotline_ban_applies(ngx_http_hotline_session_t *s);


#endif /* _NGX_HTTP_HOTLINE_SESSION_H_INCLUDED_ */
