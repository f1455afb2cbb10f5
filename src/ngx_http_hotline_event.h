
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_EVENT_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_EVENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"


/*
 * What a party's inbox holds: typed events, encoded compactly for the
 * store (one type byte, then fixed fields), and serialized as JSON only
 * at the edge, when the session writes them to the client.  A relayed
 * message is kept as the JSON the protocol parser produced for it.
 */


#define NGX_HOTLINE_EV_GAP         0       /* the store's gap record */
#define NGX_HOTLINE_EV_RELAY       1
#define NGX_HOTLINE_EV_ACCEPTED    2
#define NGX_HOTLINE_EV_PEER        3
#define NGX_HOTLINE_EV_ENDED       4
#define NGX_HOTLINE_EV_PRESENCE    5      /* an agent's, to itself */
#define NGX_HOTLINE_EV_HOLD        6      /* on hold, or back */
#define NGX_HOTLINE_EV_TRANSFER    7      /* a call goes to another agent */

#define NGX_HOTLINE_PEER_RECONNECTING  0
#define NGX_HOTLINE_PEER_BACK          1
#define NGX_HOTLINE_PEER_NEW           2      /* back, from scratch */

/* what an agent shows: the presence event's states */
#define NGX_HOTLINE_SHOWS_AVAILABLE    0
#define NGX_HOTLINE_SHOWS_AWAY         1
#define NGX_HOTLINE_SHOWS_BUSY         2
#define NGX_HOTLINE_SHOWS_WRAPUP       3

/* a transfer's states: the customer's, the agent's that transferred */
#define NGX_HOTLINE_TRANSFER_WAITING   0      /* for it (or any) */
#define NGX_HOTLINE_TRANSFER_OPEN      1      /* it did not take it: any */
#define NGX_HOTLINE_TRANSFER_OUT       2      /* the call went */

/* an encoded event but a relay, at most */
#define NGX_HOTLINE_EVENT_CODE_MAX     1024


typedef struct {
    ngx_uint_t                     type;
    u_char                         call_id[NGX_HOTLINE_ID_LEN];

    /* accepted: the peer, and this party's recording token ("": none) */
    ngx_uint_t                     role;
    ngx_str_t                      name;
    ngx_str_t                      token;

    /*
     * peer; presence: what the agent shows, until when (wrap-up); hold:
     * on; transfer: its state, for whom (name) until when, why (token)
     */
    ngx_uint_t                     state;
    int64_t                        until;

    /* ended */
    ngx_uint_t                     reason;
    ngx_uint_t                     by;
    ngx_uint_t                     duration;
    ngx_uint_t                     answered;   /* an agent took the call */

    /* relay: the message without its closing brace */
    ngx_str_t                      json;

    /* gap: the first and the last seq no longer kept */
    uint64_t                       first;
    uint64_t                       last;
} ngx_http_hotline_event_t;


/* encodes ev into p (room: NGX_HOTLINE_EVENT_CODE_MAX) */
u_char *ngx_http_hotline_event_encode(u_char *p,
    ngx_http_hotline_event_t *ev);

/* NGX_OK, or NGX_ERROR for bytes that are no event */
ngx_int_t ngx_http_hotline_event_decode(u_char *data, size_t len,
    ngx_http_hotline_event_t *ev);

/*
 * the event as the server message, without its closing brace (the seq
 * follows), at most len + NGX_HOTLINE_EVENT_MAX bytes for len encoded
 */
u_char *ngx_http_hotline_event_json(u_char *p, ngx_http_hotline_event_t *ev,
    ngx_str_t *recorder_url);


#endif /* _NGX_HTTP_HOTLINE_EVENT_H_INCLUDED_ */
