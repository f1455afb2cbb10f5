
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_TYPES_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_TYPES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_store.h"


/*
 * The call model, written once for every store backend: parties and
 * their states, the transitions and their rules, the events each party
 * is sent, the history record of an ended call, counters, log lines, the
 * daily limit and the ETA.  A transition reads the records it needs,
 * decides in C, and commits a transaction that checks what it read; a
 * conflict (another worker or node changed a record meanwhile) runs it
 * again on fresh records.
 *
 * A customer party is its call: it holds the call id and is queued until
 * an agent party links to it.  Records (keys under the store):
 *
 *   p:<token hex>   a party (ngx_http_hotline_party_t, encoded); its
 *                   inbox holds the events for that party
 *   c:<call hex>    the key of the customer party of a call
 *   a:<name>        the key of an agent's party
 *
 * Counters: waiting, active, online, busy (gauges), avg (the rolling
 * handling time, ms), day:<UTC day> (calls joined that day).
 */


/* party states */
#define NGX_HOTLINE_WAITING        1
#define NGX_HOTLINE_ACTIVE         2
#define NGX_HOTLINE_ENDED          3
#define NGX_HOTLINE_IDLE           4
#define NGX_HOTLINE_WRAPUP         5      /* agent: after a call, a while */

/* an agent's presence: whether it takes calls */
#define NGX_HOTLINE_AVAILABLE      0
#define NGX_HOTLINE_AWAY           1

/* what a transfer's reason may hold, in bytes */
#define NGX_HOTLINE_REASON_MAX     128


typedef struct {
    uint64_t                       version;    /* the store's; 0: none */
    ngx_uint_t                     role;
    ngx_uint_t                     state;
    ngx_uint_t                     reason;     /* ended: why */
    u_char                         token[NGX_HOTLINE_ID_LEN];
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    u_char                         peer[NGX_HOTLINE_ID_LEN];
    uint64_t                       ticket;
    int64_t                        joined;     /* ms since the epoch */
    int64_t                        accepted;
    size_t                         name_len;
    u_char                         name[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    size_t                         display_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         addr_len;
    u_char                         addr[NGX_SOCKADDR_STRLEN];

    /* the support desk (party record v2) */
    ngx_uint_t                     presence;   /* agent: AVAILABLE, AWAY */
    int64_t                        until;      /* agent: wrap-up's end;
                                                  customer: a transfer's
                                                  reservation's end */
    int64_t                        held;       /* on hold since; 0: not
                                                  (arg of a hold: on) */
    int64_t                        hold_ms;    /* on hold before */
    ngx_uint_t                     transfers;
    u_char                         last_call[NGX_HOTLINE_ID_LEN]; /* agent */
    size_t                         target_len; /* a transfer: for whom */
    u_char                         target[NGX_HOTLINE_NAME_MAX];
    size_t                         from_len;   /* and from whom */
    u_char                         from[NGX_HOTLINE_NAME_MAX];
    size_t                         why_len;    /* and why */
    u_char                         why[NGX_HOTLINE_REASON_MAX];

    unsigned                       has_peer:1;
    unsigned                       recorded:1;
    unsigned                       rated:1;    /* customer: gave a rating */
    unsigned                       over:1;     /* customer: its call ended
                                                  and was told: kept only
                                                  for the rating */
    unsigned                       has_last:1; /* agent: last_call is set */
    unsigned                       attached:1; /* read: has a consumer */
} ngx_http_hotline_party_t;


/*
 * The records' keys a relay writes to: the party's, its peer's and its
 * call's transcript's.  Made while the party is in a call (a waiting
 * customer has none: 112 bytes less each), so that relays do not build
 * them (1,000 instructions a message).
 */
typedef struct {
    u_char                         key[2 + NGX_HOTLINE_ID_HEX];
    u_char                         peer_key[2 + NGX_HOTLINE_ID_HEX];
    u_char                         log_key[2 + NGX_HOTLINE_ID_HEX];
    u_char                         key_len;
    u_char                         peer_key_len;
    u_char                         log_key_len;
    uint32_t                       log_epoch;  /* new each time the keys
                                                  are made: relays sent
                                                  before do not tell */
    uint32_t                       log_left;   /* the transcript's room
                                                  as a relay last learned
                                                  (it only shrinks): no
                                                  longer line is sent;
                                                  NGX_MAX_UINT32_VALUE:
                                                  not known */
} ngx_http_hotline_ref_keys_t;


/*
 * What a connection holds of its party: its consumer, its token, and the
 * last view of its record, which relays check instead of reading it
 * (relays wait in order while the view is fetched again).
 */
typedef struct {
    void                          *owner;      /* told of news: consumer */
    ngx_http_hotline_consumer_t   *consumer;
    u_char                         token[NGX_HOTLINE_ID_LEN];
    uint64_t                       version;    /* 0: no view */
    u_char                         peer[NGX_HOTLINE_ID_LEN];

    ngx_http_hotline_ref_keys_t   *keys;       /* in a call; NULL: none,
                                                  or no memory for them
                                                  (relays build them) */
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
                                               /* has_call */
    ngx_queue_t                    relays;     /* waiting for a view, or
                                                  for a busy reader */
    ngx_queue_t                    busy;       /* in the worker's list of
                                                  those waiting for one */
    void                          *view;       /* the read for it */
    uint32_t                       relays_n;
    uint32_t                       ops;        /* operations under way */
    unsigned                       role:2;
    unsigned                       state:3;    /* of the view */
    unsigned                       has_token:1;
    unsigned                       has_call:1;
    unsigned                       detached:1; /* the connection is gone */
    unsigned                       detaching:1; /* once ops are over */
    unsigned                       read_all:1; /* the client said it read
                                                  what was written */
    unsigned                       moved:1;    /* the connection went to
                                                  another worker */
} ngx_http_hotline_ref_t;


/* what an operation tells the connection */
typedef struct {
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    u_char                         resume[NGX_HOTLINE_ID_LEN];
    uint64_t                       ticket;
    u_char                         addr[NGX_SOCKADDR_STRLEN];  /* ban */
    size_t                         addr_len;
    ngx_uint_t                     presence;   /* agent: what it is now */
    int64_t                        until;      /* and until when */
    unsigned                       resumed:1;
    unsigned                       gap:1;
    unsigned                       in_call:1;
    unsigned                       waiting:1;
    unsigned                       ended:1;
} ngx_http_hotline_result_t;


/* the record of an ended call, for the history */
struct ngx_http_hotline_call_record_s {
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    u_char                        *customer;
    size_t                         customer_len;
    u_char                        *agent;
    size_t                         agent_len;
    int64_t                        joined;     /* ms since the epoch */
    int64_t                        accepted;   /* 0: never */
    int64_t                        ended;
    ngx_uint_t                     reason;
    ngx_uint_t                     by;
    ngx_uint_t                     duration;   /* seconds */
    ngx_uint_t                     recorded;

    /*
     * the support desk's: more members of the record (,"name":value...),
     * the transcript (a JSON array, or ""); amend: not a call's record
     * but later members of it (the history merges them in)
     */
    ngx_str_t                      extra;
    ngx_str_t                      transcript;
    ngx_uint_t                     amend;
};


typedef void (*ngx_http_hotline_call_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);

typedef void (*ngx_http_hotline_queue_pt)(ngx_http_hotline_queue_t *q,
    void *data);


/* gauges of the calls, for health and metrics */
typedef struct {
    ngx_uint_t                     waiting;
    ngx_uint_t                     active;
    ngx_uint_t                     agents_online;
    ngx_uint_t                     agents_busy;
    ngx_uint_t                     agents_away;
    ngx_uint_t                     agents_wrapup;
    ngx_msec_t                     avg_handle;     /* 0: not known yet */
} ngx_http_hotline_gauges_t;


/* the counters, in the order of ngx_http_hotline_counter_names[] */
#define NGX_HOTLINE_C_WAITING      0
#define NGX_HOTLINE_C_ACTIVE       1
#define NGX_HOTLINE_C_ONLINE       2
#define NGX_HOTLINE_C_BUSY         3
#define NGX_HOTLINE_C_AVG          4
#define NGX_HOTLINE_C_AWAY         5      /* agents idle and away */
#define NGX_HOTLINE_C_WRAPUP       6      /* agents in wrap-up */
#define NGX_HOTLINE_C_MESSAGES     7      /* messages' changes: a version */
#define NGX_HOTLINE_C_N            8


#endif /* _NGX_HTTP_HOTLINE_CALL_TYPES_H_INCLUDED_ */
