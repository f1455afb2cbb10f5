
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_event.h"


/*
 * The rules of the call model (ngx_http_hotline_call_rules.c): what each
 * transition requires of the records it read and what it changes, as a
 * transaction.  An operation (ngx_http_hotline_call.c) reads, asks the
 * rules, and commits.
 */


#define NGX_HOTLINE_OP_JOIN        0
#define NGX_HOTLINE_OP_LOGIN       1
#define NGX_HOTLINE_OP_RESUME      2
#define NGX_HOTLINE_OP_ACCEPT      3
#define NGX_HOTLINE_OP_REJECT      4
#define NGX_HOTLINE_OP_BAN         5
#define NGX_HOTLINE_OP_HANGUP      6
#define NGX_HOTLINE_OP_VIEW        7      /* a relay's view of its party */
#define NGX_HOTLINE_OP_DETACH      8
#define NGX_HOTLINE_OP_EXPIRE      9      /* its grace period is over */
#define NGX_HOTLINE_OP_ORPHAN      10     /* its worker died */
#define NGX_HOTLINE_OP_SEED        11     /* today's count, from the journal */
#define NGX_HOTLINE_OP_PRESENCE    12     /* an agent: available, away */
#define NGX_HOTLINE_OP_NOTE        13     /* an agent's note of a call */
#define NGX_HOTLINE_OP_RATE        14     /* a customer's rating */
#define NGX_HOTLINE_OP_MESSAGE     15     /* a message instead of a call */
#define NGX_HOTLINE_OP_AMEND       16     /* later members of a record */
#define NGX_HOTLINE_OP_HOLD        17     /* an agent's customer on hold */
#define NGX_HOTLINE_OP_TRANSFER    18     /* back in the queue, for another */

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


typedef struct {
    ngx_uint_t                     kind;
    ngx_uint_t                     tries;
    ngx_uint_t                     step;       /* reads done */
    ngx_http_hotline_ref_t        *ref;
    ngx_http_hotline_consumer_t   *consumer;
    ngx_http_hotline_call_pt       handler;
    void                          *data;
    ngx_queue_t                    link;       /* detaches that wait */

    u_char                         token[NGX_HOTLINE_ID_LEN];
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    uint64_t                       last_seq;   /* resume */
    int64_t                        from;       /* login: replay after */
    int64_t                        count;      /* seed */

    /* who the caller says it is: name, display name, address */
    ngx_http_hotline_party_t       arg;

    /* what was read */
    ngx_http_hotline_party_t       me;
    ngx_http_hotline_party_t       other;
    ngx_http_hotline_party_t       third;      /* a transfer's agent */
    uint64_t                       index;      /* the index's version */
    uint64_t                       ticket;
    int64_t                        avg;        /* -1: none stored */

    /* what the commit makes of the caller's party */
    uint64_t                       version;
    ngx_uint_t                     state;
    u_char                         peer[NGX_HOTLINE_ID_LEN];

    ngx_http_hotline_result_t      res;

    /*
     * the call's log as read when it may end: its chat (a JSON array) and
     * what the desk kept with it (record members), ngx_alloc()ed
     */
    u_char                        *log;
    ngx_str_t                      log_chat;
    ngx_str_t                      log_extra;
    u_char                        *extra;      /* ngx_alloc()ed: rec.extra */
    ngx_str_t                      more;       /* ngx_alloc()ed: what the
                                                  caller adds (members, or a
                                                  note's object) */

    /* a call that the commit ends */
    ngx_http_hotline_call_record_t rec;
    u_char                         rec_customer[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    u_char                         rec_agent[NGX_HOTLINE_NAME_MAX];

    unsigned                       has_call_id:1;
    unsigned                       ends:1;
    unsigned                       amends:1;   /* rec is an amendment */
    unsigned                       waiting:1;  /* detach: for the store */
    unsigned                       read_all:1; /* detach: the client read
                                                  what was delivered */
} ngx_http_hotline_op_t;


extern ngx_str_t  ngx_http_hotline_counter_names[];


void ngx_http_hotline_rules_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf);

/*
 * fills tx for op from what it read: NGX_HOTLINE_OK, an error for the
 * client, or NGX_HOTLINE_E_AGAIN when the other party must be read too
 */
ngx_uint_t ngx_http_hotline_rules_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);

/* ends the call of customer c, with its agent a */
void ngx_http_hotline_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a, ngx_uint_t reason, ngx_uint_t by,
    ngx_http_hotline_party_t *who);

/* frees party p: its record, index and inbox */
void ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);

/* pieces of a transaction */
void ngx_http_hotline_tx_put(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_tx_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_tx_event(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_http_hotline_event_t *ev);
void ngx_http_hotline_tx_count(ngx_http_hotline_txn_t *tx,
    ngx_uint_t counter, int64_t delta);
void ngx_http_hotline_tx_waiting(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, int64_t delta);

/*
 * ngx_http_hotline_call_desk.c: the support desk's rules (presence,
 * wrap-up, hold, transfer)
 */
void ngx_http_hotline_desk_init(void);
ngx_uint_t ngx_http_hotline_agent_shows(ngx_http_hotline_party_t *a);
ngx_msec_t ngx_http_hotline_desk_timer(ngx_http_hotline_party_t *p);
ngx_uint_t ngx_http_hotline_desk_reserved(ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_taken(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_after_call(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_deadline(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_desk_agent_gone(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_transcript(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c);
ngx_uint_t ngx_http_hotline_desk_rates(ngx_http_hotline_party_t *c);
ngx_msec_t ngx_http_hotline_desk_rating_time(void);
ngx_uint_t ngx_http_hotline_decide_presence(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_int_t ngx_http_hotline_desk_log(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r);
void ngx_http_hotline_desk_record(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *c, ngx_http_hotline_call_record_t *rec);
void ngx_http_hotline_desk_op_free(ngx_http_hotline_op_t *op);
ngx_uint_t ngx_http_hotline_decide_note(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_rate(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_message(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_hold(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_transfer(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_desk_decline(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c);

/*
 * ngx_http_hotline_call_webhook.c: the events (hotline_webhook) of an
 * operation that committed
 */
void ngx_http_hotline_call_webhooks(ngx_http_hotline_op_t *op);

/*
 * keys: "p:<token hex>", "c:<call hex>", "a:<name>", today's counter,
 * "t:<call hex>" (the record whose inbox is the call's transcript)
 */
ngx_str_t *ngx_http_hotline_pkey(u_char *token);
ngx_str_t *ngx_http_hotline_ckey(u_char *call_id);
ngx_str_t *ngx_http_hotline_akey(u_char *name, size_t len);
ngx_str_t *ngx_http_hotline_dkey(void);
ngx_str_t *ngx_http_hotline_tkey(u_char *call_id);
ngx_int_t ngx_http_hotline_token_of(ngx_str_t *key, u_char *token);


#endif /* _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_ */
