
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_


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
 * What a connection holds of its party: its consumer, its token, and the
 * last view of its record, which relays check instead of reading it
 * (relays wait in order while the view is fetched again).
 */
typedef struct {
    void                          *owner;      /* told of news: consumer */
    ngx_http_hotline_consumer_t   *consumer;
    ngx_uint_t                     role;
    u_char                         token[NGX_HOTLINE_ID_LEN];
    uint64_t                       version;    /* 0: no view */
    ngx_uint_t                     state;
    u_char                         peer[NGX_HOTLINE_ID_LEN];

    /* the records' keys of the party and its peer, for relays */
    ngx_str_t                      key;
    ngx_str_t                      peer_key;
    u_char                         key_data[2 + NGX_HOTLINE_ID_HEX];
    u_char                         peer_key_data[2 + NGX_HOTLINE_ID_HEX];
    ngx_str_t                      log_key;    /* the call's transcript */
    u_char                         log_key_data[2 + NGX_HOTLINE_ID_HEX];
    ngx_queue_t                    relays;     /* waiting for a view, or
                                                  for a busy reader */
    ngx_queue_t                    busy;       /* in the worker's list of
                                                  those waiting for one */
    ngx_uint_t                     relays_n;
    void                          *view;       /* the read for it */
    ngx_uint_t                     ops;        /* operations under way */
    unsigned                       has_token:1;
    unsigned                       detached:1; /* the connection is gone */
    unsigned                       detaching:1; /* once ops are over */
    unsigned                       read_all:1; /* the client said it read
                                                  what was written */
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


ngx_int_t ngx_http_hotline_call_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_store_t *store);
void ngx_http_hotline_call_exit_worker(ngx_cycle_t *cycle);

void ngx_http_hotline_ref_init(ngx_http_hotline_ref_t *ref, ngx_uint_t role,
    void *owner);

/* a customer enters the queue */
void ngx_http_hotline_call_join(ngx_http_hotline_ref_t *ref, u_char *name,
    size_t len, ngx_str_t *addr, ngx_http_hotline_call_pt handler,
    void *data);

/*
 * an agent comes online, or takes its session over: replayed what came
 * after seq from (-1: after what its inbox counts as delivered)
 */
void ngx_http_hotline_call_login(ngx_http_hotline_ref_t *ref, u_char *sub,
    size_t sub_len, u_char *display, size_t display_len, int64_t from,
    ngx_http_hotline_call_pt handler, void *data);

/* a party comes back with its resume token (an agent: its own) */
void ngx_http_hotline_call_resume(ngx_http_hotline_ref_t *ref,
    u_char *token, uint64_t last_seq, u_char *sub, size_t sub_len,
    ngx_http_hotline_call_pt handler, void *data);

/* agent: take a waiting call (NULL: the oldest), decline or ban one */
void ngx_http_hotline_call_accept(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_reject(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_ban(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);

/* agent: available or away (NGX_HOTLINE_AVAILABLE, NGX_HOTLINE_AWAY) */
void ngx_http_hotline_call_presence(ngx_http_hotline_ref_t *ref,
    ngx_uint_t presence, ngx_http_hotline_call_pt handler, void *data);

/*
 * agent: a note of its call, or of its last one (call_id: which, or
 * NULL); note: its JSON object ({"type":"note",...}), copied
 */
void ngx_http_hotline_call_note(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_str_t *note, ngx_http_hotline_call_pt handler,
    void *data);

/*
 * customer: the rating of its ended call (members: ,"rating":n...), with
 * the call's resume token, within hotline_rating_time of its end
 */
void ngx_http_hotline_call_rate(ngx_http_hotline_ref_t *ref, u_char *token,
    ngx_str_t *members, ngx_http_hotline_call_pt handler, void *data);

/*
 * customer: a message (members: ,"message":{...}) instead of joining, or
 * instead of waiting; res->call_id names its record
 */
void ngx_http_hotline_call_message(ngx_http_hotline_ref_t *ref,
    u_char *name, size_t len, ngx_str_t *members,
    ngx_http_hotline_call_pt handler, void *data);

/* later members of a record (a message claimed, done) */
void ngx_http_hotline_call_amend(u_char *call_id, ngx_str_t *members,
    ngx_http_hotline_call_pt handler, void *data);

/* agent: its customer on hold (on 1) or back (on 0) */
void ngx_http_hotline_call_hold(ngx_http_hotline_ref_t *ref, ngx_uint_t on,
    ngx_http_hotline_call_pt handler, void *data);

/*
 * agent: its customer back in the queue, at its place (cold transfer),
 * held for the agent to (empty: any) for hotline_transfer_timeout
 */
void ngx_http_hotline_call_transfer(ngx_http_hotline_ref_t *ref,
    ngx_str_t *to, ngx_str_t *reason, ngx_http_hotline_call_pt handler,
    void *data);

/* end the call, or leave the queue */
void ngx_http_hotline_call_hangup(ngx_http_hotline_ref_t *ref,
    ngx_http_hotline_call_pt handler, void *data);

/*
 * an event for the peer (ngx_http_hotline_event.h, encoded), in the
 * order of the calls; msg is copied.  logged: a chat line, kept in the
 * call's transcript too: msg[len] is the closing brace of its JSON.
 */
void ngx_http_hotline_call_relay(ngx_http_hotline_ref_t *ref, u_char *msg,
    size_t len, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_relay_logged(ngx_http_hotline_ref_t *ref,
    u_char *msg, size_t len, ngx_http_hotline_call_pt handler, void *data);

/*
 * the transcript of a call so far: its lines (JSON objects) in order;
 * what handler is given is valid until it returns
 */
typedef void (*ngx_http_hotline_lines_pt)(void *data, ngx_uint_t err,
    ngx_str_t *lines, ngx_uint_t n);

void ngx_http_hotline_call_transcript(u_char *call_id,
    ngx_http_hotline_lines_pt handler, void *data);

/*
 * The connection is gone: the party's grace period starts.  The model
 * takes the ref's consumer over and frees it when the store let it go;
 * the ref may be freed once this returns.
 */
void ngx_http_hotline_call_detach(ngx_http_hotline_ref_t *ref);

/* ngx_http_hotline_call_queue.c */
void ngx_http_hotline_queue_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf);
void ngx_http_hotline_queue_exit(void);

/*
 * A consistent snapshot of the queue, whole or only its first
 * NGX_HOTLINE_QUEUE_LIST_MAX calls; one at a time, the last asks again.
 */
void ngx_http_hotline_call_queue(ngx_http_hotline_queue_pt handler,
    void *data, ngx_uint_t full);
ngx_uint_t ngx_http_hotline_call_queue_again(void);
ngx_uint_t ngx_http_hotline_call_staffed(ngx_http_hotline_queue_t *q);
ngx_uint_t ngx_http_hotline_call_eta(ngx_http_hotline_queue_t *q,
    ngx_uint_t position, ngx_msec_t waited);

/* the waiting calls of one client, for a ban (call ids, 16 bytes each) */
typedef void (*ngx_http_hotline_from_pt)(void *data, ngx_uint_t err,
    u_char *call_ids, ngx_uint_t n);
void ngx_http_hotline_call_waiting_from(ngx_str_t *addr,
    ngx_http_hotline_from_pt handler, void *data);

/* a call by its id: its customer party, NULL if there is none */
typedef void (*ngx_http_hotline_find_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_party_t *customer);
void ngx_http_hotline_call_find(u_char *call_id,
    ngx_http_hotline_find_pt handler, void *data);

/* the latest gauges (fresh when the store answers at once) */
void ngx_http_hotline_call_gauges(ngx_http_hotline_gauges_t *g);
ngx_uint_t ngx_http_hotline_gauges_available(ngx_http_hotline_gauges_t *g);

/* ngx_http_hotline_party.c: the party record */
size_t ngx_http_hotline_party_encode(u_char *p,
    ngx_http_hotline_party_t *party);
ngx_int_t ngx_http_hotline_party_decode(ngx_str_t *value,
    ngx_http_hotline_party_t *party);


#endif /* _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_ */
