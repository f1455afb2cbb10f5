
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_call_op.h"
#include "ngx_http_hotline_call_rules.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_call_desk.h"
#include "ngx_http_hotline_call_webhook.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_party.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_alloc.h"
#include "ngx_http_hotline_desk.h"


/*
 * The call model's operations: each reads what it needs from the store,
 * asks the rules (ngx_http_hotline_call_rules.c) what to change, and
 * commits that as one transaction; the store checks at commit that the
 * records are still as read, and if not (NGX_HOTLINE_E_CONFLICT) the
 * operation reads and decides again.  Relays, the connection's parting
 * and the worker's tick (timers, orphans, today's count) are here too.
 */


#define NGX_HOTLINE_TRIES          16
#define NGX_HOTLINE_TICK           500    /* ms */
#define NGX_HOTLINE_DUE_BATCH      100
#define NGX_HOTLINE_RELAYS_FREE    64     /* relay contexts kept for reuse */
#define NGX_HOTLINE_BUSY_RETRY     20     /* ms: a busy reader is tried */
#define NGX_HOTLINE_BUSY_WAIT      2000   /* ms, then peer_backlog */
#define NGX_HOTLINE_ACCEPT_SCAN    16     /* the next call: held calls are
                                             passed over among these */
#define NGX_HOTLINE_LOG_SLACK      4096   /* a transcript over its bound:
                                             the line that was let in */
#define NGX_HOTLINE_LOG_MORE       262144 /* what the desk keeps with a
                                             call beside its chat */


typedef struct {
    ngx_http_hotline_lines_pt      handler;
    void                          *data;
} ngx_http_hotline_lines_t;


/*
 * A relay on its way: the message is the caller's while a commit runs
 * at once (the embedded store), copied when it is answered later or has
 * to wait for a view of the party.
 */
typedef struct {
    ngx_queue_t                    link;       /* waiting for a view */
    ngx_http_hotline_ref_t        *ref;
    ngx_http_hotline_call_pt       handler;
    void                          *data;
    u_char                        *msg;
    size_t                         len;
    u_char                        *copy;       /* ngx_alloc()ed, or NULL */
    ngx_uint_t                     logged;     /* msg[len]: its JSON's end */
    ngx_msec_t                     busy_since;
    ngx_uint_t                     n;          /* the connection's order */
    unsigned                       busy:1;     /* refused: reader behind */
    unsigned                       retry:1;    /* the one refused, again */
    unsigned                       line:1;     /* sent with its line */
    uint32_t                       epoch;      /* the keys' log_epoch */
} ngx_http_hotline_relay_t;


static void ngx_http_hotline_op_free(ngx_http_hotline_op_t *op);
static ngx_http_hotline_op_t *ngx_http_hotline_op(ngx_uint_t kind,
    ngx_http_hotline_ref_t *ref, ngx_http_hotline_call_pt handler,
    void *data);
static void ngx_http_hotline_op_copy(u_char *dst, size_t *dst_len,
    u_char *src, size_t len, size_t max);
static ngx_int_t ngx_http_hotline_op_token(ngx_http_hotline_op_t *op,
    u_char *token);
static void ngx_http_hotline_op_read(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_op_read_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_op_next(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r, ngx_http_hotline_party_t *p);
static void ngx_http_hotline_op_commit_done(void *data,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_op_finish(ngx_http_hotline_op_t *op,
    ngx_uint_t err);

static void ngx_http_hotline_ref_call(ngx_http_hotline_ref_t *ref,
    u_char *call_id);
static void ngx_http_hotline_ref_uncall(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_relay_start(ngx_http_hotline_ref_t *ref,
    u_char *msg, size_t len, ngx_uint_t logged,
    ngx_http_hotline_call_pt handler, void *data);
static void ngx_http_hotline_transcript_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_detach_now(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_let_go(ngx_http_hotline_consumer_t *c,
    u_char *token);
static void ngx_http_hotline_let_go_done(void *data,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_ref_done(ngx_http_hotline_ref_t *ref);
static ngx_int_t ngx_http_hotline_relay_keep(ngx_http_hotline_relay_t *r);
static void ngx_http_hotline_relay_send(ngx_http_hotline_relay_t *r);
static void ngx_http_hotline_relay_end(ngx_http_hotline_relay_t *r,
    ngx_uint_t err);
static void ngx_http_hotline_relay_done(void *data,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_relay_view(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_relay_flush(ngx_http_hotline_ref_t *ref,
    ngx_uint_t err);
static void ngx_http_hotline_relay_queue(ngx_http_hotline_relay_t *r);
static void ngx_http_hotline_relay_busy(ngx_http_hotline_relay_t *r);
static void ngx_http_hotline_busy_handler(ngx_event_t *ev);

static void ngx_http_hotline_tick(ngx_event_t *ev);
static void ngx_http_hotline_due_done(void *data, ngx_uint_t err,
    ngx_http_hotline_due_t *due, ngx_uint_t n);
static void ngx_http_hotline_seed(void);


static ngx_http_hotline_store_t      *ngx_http_hotline_st;
static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;
static ngx_http_hotline_desk_conf_t  *ngx_http_hotline_dcf;
static ngx_event_t                    ngx_http_hotline_tick_ev;
static ngx_queue_t                    ngx_http_hotline_detaches;
static ngx_queue_t                    ngx_http_hotline_ops;
static ngx_uint_t                     ngx_http_hotline_due_busy;
static ngx_uint_t                     ngx_http_hotline_seeded;

static ngx_http_hotline_pool_t        ngx_http_hotline_relays;
static ngx_http_hotline_relay_t      *ngx_http_hotline_relay_sending;
static uint32_t                       ngx_http_hotline_log_epochs;

/* connections whose relays wait for a reader that is behind */
static ngx_queue_t                    ngx_http_hotline_busy;
static ngx_event_t                    ngx_http_hotline_busy_ev;


ngx_int_t
ngx_http_hotline_call_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_store_t *store)
{
    ngx_http_hotline_st = store;
    ngx_http_hotline_cf = ngx_http_cycle_get_module_main_conf(cycle,
                                                  ngx_http_hotline_module);
    ngx_http_hotline_dcf = ngx_http_hotline_desk();

    ngx_queue_init(&ngx_http_hotline_detaches);
    ngx_queue_init(&ngx_http_hotline_ops);
    ngx_http_hotline_pool_init(&ngx_http_hotline_relays,
                               sizeof(ngx_http_hotline_relay_t),
                               NGX_HOTLINE_RELAYS_FREE);

    ngx_http_hotline_rules_init(store, ngx_http_hotline_cf);
    ngx_http_hotline_queue_init(store, ngx_http_hotline_cf);

    ngx_queue_init(&ngx_http_hotline_busy);
    ngx_http_hotline_timer_init(&ngx_http_hotline_busy_ev,
                                ngx_http_hotline_busy_handler, cycle);

    ngx_http_hotline_timer_init(&ngx_http_hotline_tick_ev,
                                ngx_http_hotline_tick, cycle);

    ngx_add_timer(&ngx_http_hotline_tick_ev, NGX_HOTLINE_TICK);

    ngx_http_hotline_seed();

    return NGX_OK;
}


void
ngx_http_hotline_call_exit_worker(ngx_cycle_t *cycle)
{
    if (ngx_http_hotline_tick_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_tick_ev);
    }

    if (ngx_http_hotline_busy_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_busy_ev);
    }

    ngx_http_hotline_pool_free(&ngx_http_hotline_relays);

    ngx_http_hotline_queue_exit();
}


/*
 * After the store's exit, which dropped the requests still in flight
 * without an answer: their operations (a detach of a connection that the
 * shutdown closed, the tick's expiries and its seed) are over too.
 */

void
ngx_http_hotline_call_exit_ops(void)
{
    ngx_queue_t            *q;
    ngx_http_hotline_op_t  *op;

    while (!ngx_queue_empty(&ngx_http_hotline_ops)) {
        q = ngx_queue_head(&ngx_http_hotline_ops);
        op = ngx_queue_data(q, ngx_http_hotline_op_t, all);
        ngx_http_hotline_op_free(op);
    }
}


void
ngx_http_hotline_ref_init(ngx_http_hotline_ref_t *ref, ngx_uint_t role,
    void *owner)
{
    ngx_memzero(ref, sizeof(ngx_http_hotline_ref_t));

    ref->role = role;
    ref->owner = owner;
    ngx_queue_init(&ref->relays);
}


/* the operations */

void
ngx_http_hotline_call_join(ngx_http_hotline_ref_t *ref, u_char *name,
    size_t len, ngx_str_t *addr, ngx_http_hotline_call_pt handler,
    void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_JOIN, ref, handler, data);
    if (op == NULL) {
        return;
    }

    /* the client's token; its party's id (the call's) is computed */

    if (ngx_http_hotline_random_id(op->res.resume) != NGX_OK
        || ngx_http_hotline_customer_id(op->token, op->res.resume)
           != NGX_OK)
    {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    ngx_memcpy(op->call_id, op->token, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_op_copy(op->arg.name, &op->arg.name_len, name, len,
                             NGX_HOTLINE_CUSTOMER_NAME_MAX);
    ngx_http_hotline_op_copy(op->arg.addr, &op->arg.addr_len, addr->data,
                             addr->len, NGX_SOCKADDR_STRLEN);

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_login(ngx_http_hotline_ref_t *ref, u_char *sub,
    size_t sub_len, u_char *display, size_t display_len, int64_t from,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_LOGIN, ref, handler, data);
    if (op == NULL) {
        return;
    }

    if (ngx_http_hotline_random_id(op->token) != NGX_OK) {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    ngx_http_hotline_op_copy(op->arg.name, &op->arg.name_len, sub, sub_len,
                             NGX_HOTLINE_NAME_MAX);
    ngx_http_hotline_op_copy(op->arg.display, &op->arg.display_len,
                             display, display_len, NGX_HOTLINE_NAME_MAX);
    op->from = from;

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_resume(ngx_http_hotline_ref_t *ref, u_char *token,
    uint64_t last_seq, u_char *sub, size_t sub_len,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_RESUME, ref, handler, data);
    if (op == NULL) {
        return;
    }

    if (ngx_http_hotline_op_token(op, token) != NGX_OK) {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    op->last_seq = last_seq;
    ngx_http_hotline_op_copy(op->arg.name, &op->arg.name_len, sub, sub_len,
                             NGX_HOTLINE_NAME_MAX);

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_move(ngx_http_hotline_ref_t *ref, u_char *token,
    uint64_t delivered, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_MOVE, ref, handler, data);
    if (op == NULL) {
        return;
    }

    /* the party's id (ref->token), not a client's resume token */
    ngx_memcpy(op->token, token, NGX_HOTLINE_ID_LEN);
    op->last_seq = delivered;

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_look(ngx_http_hotline_ref_t *ref)
{
    if (!ref->has_token || ref->detached) {
        return;
    }

    /* relays from now on wait for the view (as after a conflict) */
    ref->version = 0;
    ngx_http_hotline_relay_view(ref);
}


/*
 * an operation of the connection's party, on call_id if not NULL; NULL:
 * the handler was told why not.  The caller adds its arguments and reads.
 */

static ngx_http_hotline_op_t *
ngx_http_hotline_party_op(ngx_uint_t kind, ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    if (!ref->has_token) {
        handler(data, NGX_HOTLINE_E_BAD_STATE, NULL);
        return NULL;
    }

    op = ngx_http_hotline_op(kind, ref, handler, data);
    if (op == NULL) {
        return NULL;
    }

    ngx_memcpy(op->token, ref->token, NGX_HOTLINE_ID_LEN);

    if (call_id) {
        ngx_memcpy(op->call_id, call_id, NGX_HOTLINE_ID_LEN);
        op->has_call_id = 1;
    }

    return op;
}


static void
ngx_http_hotline_call_party_op(ngx_uint_t kind, ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_party_op(kind, ref, call_id, handler, data);

    if (op) {
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_accept(ngx_http_hotline_ref_t *ref, u_char *call_id,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_call_party_op(NGX_HOTLINE_OP_ACCEPT, ref, call_id,
                                   handler, data);
}


void
ngx_http_hotline_call_reject(ngx_http_hotline_ref_t *ref, u_char *call_id,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_call_party_op(NGX_HOTLINE_OP_REJECT, ref, call_id,
                                   handler, data);
}


void
ngx_http_hotline_call_ban(ngx_http_hotline_ref_t *ref, u_char *call_id,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_call_party_op(NGX_HOTLINE_OP_BAN, ref, call_id,
                                   handler, data);
}


void
ngx_http_hotline_call_presence(ngx_http_hotline_ref_t *ref,
    ngx_uint_t presence, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_party_op(NGX_HOTLINE_OP_PRESENCE, ref, NULL,
                                   handler, data);
    if (op == NULL) {
        return;
    }

    op->arg.presence = presence;

    ngx_http_hotline_op_read(op);
}


/* what the caller adds to an operation: a copy the operation owns */

static ngx_int_t
ngx_http_hotline_op_more(ngx_http_hotline_op_t *op, ngx_str_t *more)
{
    op->more.data = ngx_alloc(more->len, ngx_cycle->log);
    if (op->more.data == NULL) {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return NGX_ERROR;
    }

    op->more.len = more->len;
    ngx_memcpy(op->more.data, more->data, more->len);

    return NGX_OK;
}


void
ngx_http_hotline_call_note(ngx_http_hotline_ref_t *ref, u_char *call_id,
    ngx_str_t *note, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_party_op(NGX_HOTLINE_OP_NOTE, ref, call_id,
                                   handler, data);

    if (op && ngx_http_hotline_op_more(op, note) == NGX_OK) {
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_rate(ngx_http_hotline_ref_t *ref, u_char *token,
    ngx_str_t *members, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_RATE, ref, handler, data);
    if (op == NULL) {
        return;
    }

    if (ngx_http_hotline_op_token(op, token) != NGX_OK) {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    if (ngx_http_hotline_op_more(op, members) == NGX_OK) {
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_message(ngx_http_hotline_ref_t *ref, u_char *name,
    size_t len, ngx_str_t *members, ngx_http_hotline_call_pt handler,
    void *data)
{
    ngx_http_hotline_op_t  *op;

    if (ref->has_token) {
        /* instead of waiting */
        op = ngx_http_hotline_party_op(NGX_HOTLINE_OP_MESSAGE, ref, NULL,
                                       handler, data);

    } else {
        /* instead of joining: a record of its own */
        op = ngx_http_hotline_op(NGX_HOTLINE_OP_MESSAGE, ref, handler, data);

        if (op && ngx_http_hotline_random_id(op->call_id) != NGX_OK) {
            ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
            return;
        }

        if (op) {
            ngx_http_hotline_op_copy(op->arg.name, &op->arg.name_len, name,
                                     len, NGX_HOTLINE_CUSTOMER_NAME_MAX);
        }
    }

    if (op && ngx_http_hotline_op_more(op, members) == NGX_OK) {
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_amend(u_char *call_id, ngx_str_t *members,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_AMEND, NULL, handler, data);
    if (op == NULL) {
        return;
    }

    ngx_memcpy(op->call_id, call_id, NGX_HOTLINE_ID_LEN);

    if (ngx_http_hotline_op_more(op, members) == NGX_OK) {
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_hold(ngx_http_hotline_ref_t *ref, ngx_uint_t on,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_party_op(NGX_HOTLINE_OP_HOLD, ref, NULL, handler,
                                   data);
    if (op) {
        op->arg.held = on;
        ngx_http_hotline_op_read(op);
    }
}


void
ngx_http_hotline_call_transfer(ngx_http_hotline_ref_t *ref, ngx_str_t *to,
    ngx_str_t *reason, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_party_op(NGX_HOTLINE_OP_TRANSFER, ref, NULL,
                                   handler, data);
    if (op == NULL) {
        return;
    }

    ngx_http_hotline_op_copy(op->arg.target, &op->arg.target_len, to->data,
                             to->len, NGX_HOTLINE_NAME_MAX);
    ngx_http_hotline_op_copy(op->arg.why, &op->arg.why_len, reason->data,
                             reason->len, NGX_HOTLINE_REASON_MAX);

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_hangup(ngx_http_hotline_ref_t *ref,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_call_party_op(NGX_HOTLINE_OP_HANGUP, ref, NULL,
                                   handler, data);
}


void
ngx_http_hotline_call_detach(ngx_http_hotline_ref_t *ref)
{
    ngx_http_hotline_op_t  *op;

    ref->detached = 1;

    if (ref->busy.next) {
        ngx_queue_remove(&ref->busy);
        ref->busy.next = NULL;
    }

    op = ref->view;

    if (op) {
        /* its answer finds no connection */
        op->ref = NULL;
        ref->view = NULL;
        ref->ops--;
    }

    /* relays still waiting for a view are answered: nobody reads them */
    ngx_http_hotline_relay_flush(ref, NGX_HOTLINE_E_BAD_STATE);

    if (ref->ops) {
        /* the party is let go when the last operation is over */
        ref->detaching = 1;
        return;
    }

    ngx_http_hotline_detach_now(ref);
}


static void
ngx_http_hotline_detach_now(ngx_http_hotline_ref_t *ref)
{
    ngx_http_hotline_op_t        *op;
    ngx_http_hotline_consumer_t  *c;

    c = ref->consumer;
    ref->consumer = NULL;
    ref->detaching = 0;

    /* no relay goes any more */
    ngx_http_hotline_ref_uncall(ref);

    if (c == NULL) {
        return;
    }

    /* the connection may be freed now: nothing is told to it any more */
    ngx_http_hotline_st->consumer_own(c, NULL);

    if (ref->moved && ref->has_token) {
        ngx_http_hotline_let_go(c, ref->token);
        return;
    }

    if (!ref->has_token) {
        ngx_http_hotline_st->consumer_free(c);
        return;
    }

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_DETACH, NULL, NULL, NULL);
    if (op == NULL) {
        ngx_http_hotline_st->consumer_free(c);
        return;
    }

    op->consumer = c;
    op->read_all = ref->read_all;
    ngx_memcpy(op->token, ref->token, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_op_read(op);
}


/*
 * The connection went to another worker, which attaches the inbox (the
 * attach and this release may come in either order: a release after it
 * finds the inbox is not ours and changes nothing); the consumer goes
 * once the store answers.  The release starts the grace period, which
 * the other worker's attach ends: should it never come (that worker
 * could not take the connection, which it then closed), the party waits
 * for a resume as after any drop.
 */

static void
ngx_http_hotline_let_go(ngx_http_hotline_consumer_t *c, u_char *token)
{
    ngx_str_t                        *key;
    ngx_http_hotline_txn_t            tx;
    ngx_http_hotline_txop_t          *t;
    ngx_http_hotline_consumer_info_t  ci;

    ngx_http_hotline_st->consumer_info(c, &ci);

    key = ngx_http_hotline_pkey(token);

    ngx_http_hotline_txn_init(&tx);

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_OWNED, key);
    t->consumer = c;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_RELEASE, key);
    t->consumer = c;
    t->n = (int64_t) ci.delivered;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_TIMER, key);
    t->n = ngx_http_hotline_cf->resume_timeout;

    ngx_http_hotline_st->commit(&tx, ngx_http_hotline_let_go_done, c);
}


static void
ngx_http_hotline_let_go_done(void *data, ngx_http_hotline_txres_t *res)
{
    ngx_http_hotline_consumer_t *c = data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline call: handed-over inbox let go, error %ui",
                   res->err);

    ngx_http_hotline_st->consumer_free(c);
}


/*
 * The call the party is in (its peer is known by now), whose transcript
 * a relay's chat lines go to; NULL: none.  The keys of relays with it.
 */

static void
ngx_http_hotline_ref_call(ngx_http_hotline_ref_t *ref, u_char *call_id)
{
    ngx_str_t                    *key;
    ngx_http_hotline_ref_keys_t  *k;

    ref->has_call = call_id ? 1 : 0;

    if (call_id == NULL) {
        ngx_http_hotline_ref_uncall(ref);
        return;
    }

    ngx_memcpy(ref->call_id, call_id, NGX_HOTLINE_ID_LEN);

    if (ref->keys == NULL) {
        ref->keys = ngx_alloc(sizeof(ngx_http_hotline_ref_keys_t),
                              ngx_cycle->log);
        if (ref->keys == NULL) {
            return;
        }
    }

    k = ref->keys;

    key = ngx_http_hotline_pkey(ref->token);
    k->key_len = (u_char) (ngx_cpymem(k->key, key->data, key->len) - k->key);

    key = ngx_http_hotline_pkey(ref->peer);
    k->peer_key_len = (u_char) (ngx_cpymem(k->peer_key, key->data, key->len)
                                - k->peer_key);

    key = ngx_http_hotline_tkey(call_id);
    k->log_key_len = (u_char) (ngx_cpymem(k->log_key, key->data, key->len)
                               - k->log_key);
    k->log_left = NGX_MAX_UINT32_VALUE;
    k->log_epoch = ++ngx_http_hotline_log_epochs;
}


static void
ngx_http_hotline_ref_uncall(ngx_http_hotline_ref_t *ref)
{
    ref->has_call = 0;

    if (ref->keys) {
        ngx_free(ref->keys);
        ref->keys = NULL;
    }
}


/* an operation of the connection is over: a detach may wait for it */

static void
ngx_http_hotline_ref_done(ngx_http_hotline_ref_t *ref)
{
    if (--ref->ops == 0 && ref->detaching) {
        ngx_http_hotline_detach_now(ref);
    }
}


static ngx_http_hotline_op_t *
ngx_http_hotline_op(ngx_uint_t kind, ngx_http_hotline_ref_t *ref,
    ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_calloc(sizeof(ngx_http_hotline_op_t), ngx_cycle->log);
    if (op == NULL) {
        if (handler) {
            handler(data, NGX_HOTLINE_E_INTERNAL, NULL);
        }

        return NULL;
    }

    op->kind = kind;
    op->ref = ref;
    op->handler = handler;
    op->data = data;
    op->avg = -1;

    ngx_queue_insert_tail(&ngx_http_hotline_ops, &op->all);

    if (ref) {
        ref->ops++;
    }

    return op;
}


static void
ngx_http_hotline_op_copy(u_char *dst, size_t *dst_len, u_char *src,
    size_t len, size_t max)
{
    *dst_len = ngx_min(len, max);

    if (*dst_len) {
        /* (src may be NULL when empty) */
        ngx_memcpy(dst, src, *dst_len);
    }
}


/*
 * The party of a token a client sent (resume, rate): a customer's is
 * keyed by the id computed from it, an agent's by the token itself.  The
 * token is what the client is told again (welcome's "resume").
 */

static ngx_int_t
ngx_http_hotline_op_token(ngx_http_hotline_op_t *op, u_char *token)
{
    ngx_memcpy(op->res.resume, token, NGX_HOTLINE_ID_LEN);

    if (op->ref->role != NGX_HOTLINE_ROLE_CUSTOMER) {
        ngx_memcpy(op->token, token, NGX_HOTLINE_ID_LEN);
        return NGX_OK;
    }

    return ngx_http_hotline_customer_id(op->token, token);
}


/* step 1: read what the operation needs (some read twice) */

static void
ngx_http_hotline_op_read(ngx_http_hotline_op_t *op)
{
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_reads_t   rd;

    ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

    r = &rd.ops[0];

    if (op->step == 1) {
        /* the other party of a call; the call's log, if it may end */
        r->op = NGX_HOTLINE_READ_RECORD;
        r->key = *ngx_http_hotline_pkey(op->me.peer);
        rd.n = 1;

        if (op->kind == NGX_HOTLINE_OP_TRANSFER) {
            if (op->arg.target_len) {
                /* the agent it goes to */
                r = &rd.ops[rd.n++];
                r->op = NGX_HOTLINE_READ_INDEX;
                r->key = *ngx_http_hotline_akey(op->arg.target,
                                                op->arg.target_len);
            }

        } else if (op->kind != NGX_HOTLINE_OP_HOLD) {
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_INBOX;
            r->key = *ngx_http_hotline_tkey(op->me.call_id);
            r->n = ngx_http_hotline_dcf->transcript + NGX_HOTLINE_LOG_MORE;
        }

        ngx_http_hotline_st->read(&rd, ngx_http_hotline_op_read_done, op);
        return;
    }

    switch (op->kind) {

    case NGX_HOTLINE_OP_JOIN:
        r->op = NGX_HOTLINE_READ_TICKET;
        rd.n = 1;
        break;

    case NGX_HOTLINE_OP_LOGIN:
        r->op = NGX_HOTLINE_READ_INDEX;
        r->key = *ngx_http_hotline_akey(op->arg.name, op->arg.name_len);
        rd.n = 1;
        break;

    case NGX_HOTLINE_OP_SEED:
        r->op = NGX_HOTLINE_READ_COUNTERS;
        r->names = ngx_http_hotline_dkey();
        r->n = 1;
        rd.n = 1;
        break;

    case NGX_HOTLINE_OP_AMEND:
        /* nothing to read */
        break;

    default:
        r->op = NGX_HOTLINE_READ_RECORD;
        r->key = *ngx_http_hotline_pkey(op->token);
        rd.n = 1;

        if (op->kind == NGX_HOTLINE_OP_ACCEPT && !op->has_call_id) {
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_QUEUE;
            r->n = NGX_HOTLINE_ACCEPT_SCAN;

        } else if (op->has_call_id) {
            /* a customer's party: its id is the call's */
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_RECORD;
            r->key = *ngx_http_hotline_pkey(op->call_id);

            if (op->kind == NGX_HOTLINE_OP_BAN) {
                /* the call may end: its log */
                r = &rd.ops[rd.n++];
                r->op = NGX_HOTLINE_READ_INBOX;
                r->key = *ngx_http_hotline_tkey(op->call_id);
                r->n = ngx_http_hotline_dcf->transcript
                       + NGX_HOTLINE_LOG_MORE;
            }
        }

        if (op->kind != NGX_HOTLINE_OP_VIEW
            && op->kind != NGX_HOTLINE_OP_RESUME
            && op->kind != NGX_HOTLINE_OP_MOVE
            && op->kind != NGX_HOTLINE_OP_ACCEPT
            && op->kind != NGX_HOTLINE_OP_PRESENCE
            && op->kind != NGX_HOTLINE_OP_NOTE
            && op->kind != NGX_HOTLINE_OP_RATE)
        {
            /* a call may end: the rolling handling time */
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_COUNTERS;
            r->names = &ngx_http_hotline_counter_names[NGX_HOTLINE_C_AVG];
            r->n = 1;
        }

        break;
    }

    ngx_http_hotline_st->read(&rd, ngx_http_hotline_op_read_done, op);
}


static void
ngx_http_hotline_op_read_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    ngx_http_hotline_op_t *op = data;

    ngx_uint_t                 i, rc;
    ngx_http_hotline_rec_t    *rec;
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_txn_t     tx;
    ngx_http_hotline_party_t  *p;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_finish(op, err);
        return;
    }

    for (i = 0; i < rd->n; i++) {
        r = &rd->ops[i];

        switch (r->op) {

        case NGX_HOTLINE_READ_TICKET:
            op->ticket = (uint64_t) r->numbers[0];
            break;

        case NGX_HOTLINE_READ_INBOX:
            if (ngx_http_hotline_desk_log(op, r) != NGX_OK) {
                ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
                return;
            }

            break;

        case NGX_HOTLINE_READ_COUNTERS:
            if (op->kind == NGX_HOTLINE_OP_SEED) {
                op->count = r->numbers[0];

            } else {
                op->avg = r->numbers[0];
            }

            break;

        default:
            rec = NULL;

            if (r->op == NGX_HOTLINE_READ_INDEX) {
                if (op->kind == NGX_HOTLINE_OP_LOGIN) {
                    op->index = r->nrecs ? r->recs[0].version : 0;
                }

                rec = (r->nrecs > 1) ? &r->recs[1] : NULL;

            } else if (r->op == NGX_HOTLINE_READ_QUEUE) {
                /* the next call: the oldest not held for another agent */
                ngx_http_hotline_op_next(op, r, &op->other);
                break;

            } else if (r->nrecs) {
                rec = &r->recs[0];
            }

            /*
             * the first record read is the caller's, the second another;
             * an agent read later by its name, a third (a transfer's)
             */
            p = (r->op == NGX_HOTLINE_READ_RECORD && op->step == 0 && i == 0)
                ? &op->me : &op->other;

            if (op->kind == NGX_HOTLINE_OP_LOGIN) {
                p = &op->me;

            } else if (op->step == 1 && r->op == NGX_HOTLINE_READ_INDEX) {
                p = &op->third;
            }

            ngx_memzero(p, sizeof(ngx_http_hotline_party_t));

            if (rec && rec->version
                && ngx_http_hotline_party_decode(&rec->value, p) == NGX_OK)
            {
                p->version = rec->version;
                p->attached = rec->attached;
                p->ticket = rec->ticket ? rec->ticket : p->ticket;
            }

            if (p == &op->other && op->step == 0
                && r->op == NGX_HOTLINE_READ_RECORD
                && p->role != NGX_HOTLINE_ROLE_CUSTOMER)
            {
                /* a call id names a customer, never an agent's token */
                ngx_memzero(p, sizeof(ngx_http_hotline_party_t));
            }

            break;
        }
    }

    ngx_http_hotline_txn_init(&tx);

    /* what an earlier try decided (it conflicted) is not the commit's */
    op->ends = 0;
    op->amends = 0;

    rc = ngx_http_hotline_rules_decide(op, &tx);

    if (rc == NGX_HOTLINE_E_AGAIN) {
        /* the other party is needed too */
        op->step = 1;
        ngx_http_hotline_op_read(op);
        return;
    }

    if (rc != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_finish(op, rc);
        return;
    }

    if (tx.n == 0) {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_OK);
        return;
    }

    if (tx.overflow) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline: a transaction of operation %ui is too big",
                      op->kind);
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    ngx_http_hotline_st->commit(&tx, ngx_http_hotline_op_commit_done, op);
}




static void
ngx_http_hotline_op_next(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r, ngx_http_hotline_party_t *p)
{
    ngx_uint_t               i;
    ngx_http_hotline_rec_t  *rec;

    for (i = 0; i < r->nrecs; i++) {
        rec = &r->recs[i];

        if (rec->version == 0
            || ngx_http_hotline_party_decode(&rec->value, p) != NGX_OK)
        {
            continue;
        }

        if (!ngx_http_hotline_desk_reserved(p, &op->me)) {
            p->version = rec->version;
            p->attached = rec->attached;
            p->ticket = rec->ticket ? rec->ticket : p->ticket;
            return;
        }
    }

    ngx_memzero(p, sizeof(ngx_http_hotline_party_t));
}


static void
ngx_http_hotline_op_commit_done(void *data, ngx_http_hotline_txres_t *res)
{
    ngx_http_hotline_op_t *op = data;

    if (res->err == NGX_HOTLINE_E_CONFLICT) {

        if (++op->tries < NGX_HOTLINE_TRIES) {
            op->step = 0;
            ngx_http_hotline_op_read(op);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: operation %ui conflicted %ui times",
                      op->kind, op->tries);

        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_UNAVAILABLE);
        return;
    }

    op->res.gap = res->gap;

    ngx_http_hotline_op_finish(op, res->err);
}


/* step 3: the effects of a commit, and the answer */

static void
ngx_http_hotline_op_finish(ngx_http_hotline_op_t *op, ngx_uint_t err)
{
    int64_t                          now;
    ngx_time_t                      *tp;
    ngx_http_hotline_ref_t          *ref;
    ngx_http_hotline_call_record_t  *rec;
    u_char                           id[NGX_HOTLINE_ID_HEX];

    ref = op->ref;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline call: operation %ui done, error %ui, %ui tries",
                   op->kind, err, op->tries);

    if (err == NGX_HOTLINE_OK && op->amends) {
        ngx_http_hotline_history_add(&op->rec);
        ngx_http_hotline_history_flush();
    }

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    if (err == NGX_HOTLINE_OK && op->kind == NGX_HOTLINE_OP_ACCEPT) {
        ngx_http_hotline_observe(NGX_HOTLINE_HIST_WAIT,
                                 now - op->other.joined);
    }

    if (err == NGX_HOTLINE_OK && op->ends) {
        rec = &op->rec;

        if (rec->accepted) {
            ngx_http_hotline_observe(NGX_HOTLINE_HIST_DURATION,
                                     now - rec->accepted);

        } else {
            ngx_http_hotline_observe(NGX_HOTLINE_HIST_UNANSWERED,
                                     now - rec->joined);
        }

        ngx_http_hotline_count_ended(rec->reason);
        ngx_http_hotline_history_add(rec);
        ngx_http_hotline_history_flush();

        (void) ngx_http_hotline_hex(id, rec->call_id, NGX_HOTLINE_ID_LEN);

        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "hotline: call ended call_id=%*s reason=%V "
                      "duration=%ui agent=\"%*s\"",
                      (size_t) NGX_HOTLINE_ID_HEX, id,
                      &ngx_http_hotline_end_reasons[rec->reason],
                      rec->duration, rec->agent_len,
                      rec->agent ? rec->agent : (u_char *) "");
    }

    if (err == NGX_HOTLINE_OK) {
        /* only here, in the worker that committed: each event once */
        ngx_http_hotline_call_webhooks(op);
    }

    switch (op->kind) {

    case NGX_HOTLINE_OP_SEED:
        ngx_http_hotline_seeded = (err == NGX_HOTLINE_OK);
        break;

    case NGX_HOTLINE_OP_DETACH:

        if (err == NGX_HOTLINE_E_UNAVAILABLE && !ngx_exiting) {
            /* again when the store is back (the tick looks) */
            op->step = 0;
            op->tries = 0;

            if (!op->waiting) {
                op->waiting = 1;
                ngx_queue_insert_tail(&ngx_http_hotline_detaches, &op->link);
            }

            return;
        }

        if (op->waiting) {
            ngx_queue_remove(&op->link);
        }

        ngx_http_hotline_st->consumer_free(op->consumer);
        break;

    case NGX_HOTLINE_OP_VIEW:

        if (ref == NULL) {
            /* the connection went meanwhile */
            break;
        }

        ref->view = NULL;
        ref->ops--;

        if (err == NGX_HOTLINE_OK && op->me.version
            && op->me.role == ref->role)
        {
            ref->version = op->me.version;
            ref->state = op->me.state;
            ngx_memcpy(ref->peer, op->me.peer, NGX_HOTLINE_ID_LEN);
            ngx_http_hotline_ref_call(ref, op->me.has_peer ? op->me.call_id
                                                           : NULL);

            if (!op->me.has_peer) {
                ref->state = 0;
            }

        } else {
            ref->version = 0;
            ref->state = 0;
        }

        ngx_http_hotline_relay_flush(ref, err == NGX_HOTLINE_OK
                                          ? NGX_HOTLINE_OK : err);
        break;

    default:

        if (ref && err == NGX_HOTLINE_OK && op->version) {
            /* the connection's party, as the commit left it */
            ngx_memcpy(ref->token, op->token, NGX_HOTLINE_ID_LEN);
            ref->has_token = 1;
            ref->version = op->version;
            ref->state = op->state;
            ngx_memcpy(ref->peer, op->peer, NGX_HOTLINE_ID_LEN);
            ngx_http_hotline_ref_call(ref, op->res.in_call ? op->res.call_id
                                                           : NULL);

        } else if (ref && err == NGX_HOTLINE_OK && op->ends) {
            /* its record changed: look again before the next relay */
            ref->version = 0;
        }

        if (ref) {
            ngx_http_hotline_ref_done(ref);
        }

        if (op->handler) {
            op->handler(op->data, err,
                        err == NGX_HOTLINE_OK ? &op->res : NULL);
        }

        break;
    }

    ngx_http_hotline_op_free(op);
}


static void
ngx_http_hotline_op_free(ngx_http_hotline_op_t *op)
{
    ngx_queue_remove(&op->all);

    ngx_http_hotline_desk_op_free(op);

    if (op->more.data) {
        ngx_free(op->more.data);
    }

    ngx_free(op);
}














































/*
 * Relays: sent with the connection's view of its party (the store checks
 * that the party is still at that version and still this connection's);
 * without a view, or when it turns out old, they wait in order until a
 * read brings a new one.
 */

void
ngx_http_hotline_call_relay(ngx_http_hotline_ref_t *ref, u_char *msg,
    size_t len, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_relay_start(ref, msg, len, 0, handler, data);
}


void
ngx_http_hotline_call_relay_logged(ngx_http_hotline_ref_t *ref, u_char *msg,
    size_t len, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_relay_start(ref, msg, len, 1, handler, data);
}


static void
ngx_http_hotline_relay_start(ngx_http_hotline_ref_t *ref, u_char *msg,
    size_t len, ngx_uint_t logged, ngx_http_hotline_call_pt handler,
    void *data)
{
    ngx_http_hotline_relay_t  *r;

    if (!ref->has_token || ref->consumer == NULL || ref->detached) {
        handler(data, NGX_HOTLINE_E_BAD_STATE, NULL);
        return;
    }

    r = ngx_http_hotline_pool_get(&ngx_http_hotline_relays);
    if (r == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    ref->ops++;
    r->ref = ref;
    r->handler = handler;
    r->data = data;
    r->msg = msg;
    r->len = len;
    r->copy = NULL;
    r->logged = logged;
    r->busy = 0;
    r->retry = 0;
    r->n = ref->relays_n++;

    if (ref->version == 0 || ref->state != NGX_HOTLINE_ACTIVE || ref->view
        || !ngx_queue_empty(&ref->relays))
    {
        /*
         * no view, or one from before the call: read it first; or after
         * those waiting for a busy reader
         */

        if (ngx_http_hotline_relay_keep(r) != NGX_OK) {
            ngx_http_hotline_relay_end(r, NGX_HOTLINE_E_INTERNAL);
            return;
        }

        ngx_queue_insert_tail(&ref->relays, &r->link);

        if (ref->busy.next == NULL) {
            ngx_http_hotline_relay_view(ref);
        }

        return;
    }

    /* r may be gone when send() returns: it is answered then */

    ngx_http_hotline_relay_sending = r;

    ngx_http_hotline_relay_send(r);

    if (ngx_http_hotline_relay_sending == r) {
        /* the answer comes later and may send it again: a copy */
        ngx_http_hotline_relay_sending = NULL;

        if (ngx_http_hotline_relay_keep(r) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: no memory to keep a relayed message");
        }
    }
}


/* the message outlives the caller's buffer */

static ngx_int_t
ngx_http_hotline_relay_keep(ngx_http_hotline_relay_t *r)
{
    if (r->copy) {
        return NGX_OK;
    }

    r->copy = ngx_alloc(r->len + r->logged, ngx_cycle->log);
    if (r->copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(r->copy, r->msg, r->len + r->logged);
    r->msg = r->copy;

    return NGX_OK;
}


static void
ngx_http_hotline_relay_send(ngx_http_hotline_relay_t *r)
{
    ngx_str_t                 key, peer_key, log_key;
    ngx_http_hotline_ref_t   *ref;
    ngx_http_hotline_txop_t  *t;
    ngx_http_hotline_txn_t    tx;

    ref = r->ref;

    if (ref->state != NGX_HOTLINE_ACTIVE) {
        ngx_http_hotline_relay_end(r, NGX_HOTLINE_E_BAD_STATE);
        return;
    }

    ngx_http_hotline_txn_init(&tx);

    /* copied into the transaction; made here only if memory was short */

    if (ref->keys) {
        key.data = ref->keys->key;
        key.len = ref->keys->key_len;
        peer_key.data = ref->keys->peer_key;
        peer_key.len = ref->keys->peer_key_len;
        log_key.data = ref->keys->log_key;
        log_key.len = ref->keys->log_key_len;

    } else {
        key = *ngx_http_hotline_pkey(ref->token);
        peer_key = *ngx_http_hotline_pkey(ref->peer);
        log_key = *ngx_http_hotline_tkey(ref->call_id);
    }

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_CHECK, &key);
    t->n = (int64_t) ref->version;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_OWNED, &key);
    t->consumer = ref->consumer;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_APPEND, &peer_key);
    t->max = ngx_http_hotline_cf->replay_buffer;
    t->err = NGX_HOTLINE_E_PEER_BACKLOG;
    t->n = r->retry;

    /* not copied: the store takes it before commit() returns */
    t->value.data = r->msg;
    t->value.len = r->len;

    /*
     * a chat line: the call's transcript keeps it, while it has room; a
     * line longer than the room a relay last saw is not sent: the room
     * only shrinks while the call lasts (a transcript is never trimmed)
     */
    r->line = r->logged && ref->has_call && ngx_http_hotline_dcf->transcript
              && (ref->keys == NULL || r->len <= ref->keys->log_left);

    if (r->line) {
        r->epoch = ref->keys ? ref->keys->log_epoch : 0;

        t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_APPEND, &log_key);
        t->max = ngx_http_hotline_dcf->transcript;
        t->err = NGX_HOTLINE_OK;
        t->value.data = r->msg + 1;
        t->value.len = r->len;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline call: relay of %uz bytes, view %uL, event %d",
                   r->len, ref->version, (int) r->msg[0]);

    ngx_http_hotline_st->commit(&tx, ngx_http_hotline_relay_done, r);
}


static void
ngx_http_hotline_relay_done(void *data, ngx_http_hotline_txres_t *res)
{
    ngx_http_hotline_relay_t *r = data;

    ngx_http_hotline_ref_t  *ref;

    ref = r->ref;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline call: relay of %uz bytes committed, error %ui",
                   r->len, res->err);

    if (ngx_http_hotline_relay_sending == r) {
        ngx_http_hotline_relay_sending = NULL;
    }

    if (res->err == NGX_HOTLINE_E_CONFLICT && !ref->detached) {
        /*
         * the party changed: this relay and those sent after it come
         * back in order; they go again after the new view, in the order
         * they came (those started while the view is read wait there
         * already)
         */
        ref->version = 0;

        if (ngx_http_hotline_relay_keep(r) == NGX_OK) {
            ngx_http_hotline_relay_queue(r);
            ngx_http_hotline_relay_view(ref);
            return;
        }
    }

    if (res->err == NGX_HOTLINE_E_BUSY && !ref->detached
        && ngx_http_hotline_relay_keep(r) == NGX_OK)
    {
        ngx_http_hotline_relay_busy(r);
        return;
    }

    if (res->err == NGX_HOTLINE_OK) {
        ngx_http_hotline_count_relayed();

        if (r->line && res->left >= 0 && ref->keys
            && r->epoch == ref->keys->log_epoch
            && (ngx_uint_t) res->left < ref->keys->log_left)
        {
            ref->keys->log_left = (uint32_t) res->left;
        }
    }

    ngx_http_hotline_relay_end(r, res->err == NGX_HOTLINE_E_CONFLICT
                                  ? NGX_HOTLINE_E_BAD_STATE
                                  : res->err == NGX_HOTLINE_E_BUSY
                                  ? NGX_HOTLINE_E_PEER_BACKLOG : res->err);
}


/* r waits among its connection's relays in the order they came */

static void
ngx_http_hotline_relay_queue(ngx_http_hotline_relay_t *r)
{
    ngx_queue_t               *q;
    ngx_http_hotline_ref_t    *ref;
    ngx_http_hotline_relay_t  *before;

    ref = r->ref;

    /* one started later may already wait (the count may wrap) */

    for (q = ngx_queue_last(&ref->relays);
         q != ngx_queue_sentinel(&ref->relays);
         q = ngx_queue_prev(q))
    {
        before = ngx_queue_data(q, ngx_http_hotline_relay_t, link);

        if ((int32_t) (before->n - r->n) < 0) {
            break;
        }
    }

    ngx_queue_insert_after(q, &r->link);
}


/*
 * The peer's reader is behind: this relay and those after it (refused
 * too, in order, until this one gets in) wait and go again a little
 * later, while the sender's connection waits too (its pins hold its
 * reads); after NGX_HOTLINE_BUSY_WAIT the reader is not keeping up.
 */

static void
ngx_http_hotline_relay_busy(ngx_http_hotline_relay_t *r)
{
    ngx_http_hotline_ref_t  *ref;

    ref = r->ref;

    if (!r->busy) {
        r->busy = 1;
        r->busy_since = ngx_current_msec;
    }

    r->retry = 0;

    ngx_http_hotline_relay_queue(r);

    if (ref->busy.next == NULL) {
        ngx_queue_insert_tail(&ngx_http_hotline_busy, &ref->busy);
    }

    if (!ngx_http_hotline_busy_ev.timer_set) {
        ngx_add_timer(&ngx_http_hotline_busy_ev, NGX_HOTLINE_BUSY_RETRY);
    }
}


static void
ngx_http_hotline_busy_handler(ngx_event_t *ev)
{
    ngx_queue_t                q, *lq;
    ngx_http_hotline_ref_t    *ref;
    ngx_http_hotline_relay_t  *r;

    /* those refused again queue up behind */

    if (ngx_queue_empty(&ngx_http_hotline_busy)) {
        return;
    }

    q = ngx_http_hotline_busy;
    q.next->prev = &q;
    q.prev->next = &q;
    ngx_queue_init(&ngx_http_hotline_busy);

    while (!ngx_queue_empty(&q)) {
        lq = ngx_queue_head(&q);
        ngx_queue_remove(lq);
        ref = ngx_queue_data(lq, ngx_http_hotline_ref_t, busy);
        ref->busy.next = NULL;

        /* those that waited too long: the reader is not keeping up */

        while (!ngx_queue_empty(&ref->relays)) {
            r = ngx_queue_data(ngx_queue_head(&ref->relays),
                               ngx_http_hotline_relay_t, link);

            if (!r->busy
                || ngx_current_msec - r->busy_since
                   < NGX_HOTLINE_BUSY_WAIT)
            {
                /* the first goes again: nothing overtakes it */
                r->retry = 1;
                break;
            }

            ngx_queue_remove(&r->link);
            ngx_http_hotline_relay_end(r, NGX_HOTLINE_E_PEER_BACKLOG);
        }

        ngx_http_hotline_relay_flush(ref, NGX_HOTLINE_OK);
    }
}


static void
ngx_http_hotline_relay_end(ngx_http_hotline_relay_t *r, ngx_uint_t err)
{
    if (ngx_http_hotline_relay_sending == r) {
        ngx_http_hotline_relay_sending = NULL;
    }

    ngx_http_hotline_ref_done(r->ref);

    r->handler(r->data, err, NULL);

    if (r->copy) {
        ngx_free(r->copy);
    }

    ngx_http_hotline_pool_put(&ngx_http_hotline_relays, r);
}


static void
ngx_http_hotline_relay_view(ngx_http_hotline_ref_t *ref)
{
    ngx_http_hotline_op_t  *op;

    if (ref->view) {
        return;
    }

    if (ref->detached) {
        ngx_http_hotline_relay_flush(ref, NGX_HOTLINE_E_BAD_STATE);
        return;
    }

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_VIEW, ref, NULL, NULL);
    if (op == NULL) {
        ngx_http_hotline_relay_flush(ref, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    ref->view = op;
    ngx_memcpy(op->token, ref->token, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_op_read(op);
}


/* the view is back (or the connection goes): waiting relays go on */

static void
ngx_http_hotline_relay_flush(ngx_http_hotline_ref_t *ref, ngx_uint_t err)
{
    ngx_queue_t                q;
    ngx_queue_t               *lq;
    ngx_http_hotline_relay_t  *r;

    if (ngx_queue_empty(&ref->relays)) {
        return;
    }

    /* those that come back conflicting queue up again behind these */

    q = ref->relays;
    q.next->prev = &q;
    q.prev->next = &q;
    ngx_queue_init(&ref->relays);

    while (!ngx_queue_empty(&q)) {
        lq = ngx_queue_head(&q);
        ngx_queue_remove(lq);
        r = ngx_queue_data(lq, ngx_http_hotline_relay_t, link);

        if (err != NGX_HOTLINE_OK) {
            ngx_http_hotline_relay_end(r, err);
            continue;
        }

        if (ref->version == 0 || !ngx_queue_empty(&ref->relays)) {
            /* a relay before it conflicted again */
            ngx_queue_insert_tail(&ref->relays, lq);
            continue;
        }

        ngx_http_hotline_relay_send(r);
    }

    if (!ngx_queue_empty(&ref->relays)) {
        ngx_http_hotline_relay_view(ref);
    }
}


/* the transcript of a call: its record's inbox, read as it is */

void
ngx_http_hotline_call_transcript(u_char *call_id,
    ngx_http_hotline_lines_pt handler, void *data)
{
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_reads_t   rd;
    ngx_http_hotline_lines_t  *ctx;

    ctx = ngx_alloc(sizeof(ngx_http_hotline_lines_t), ngx_cycle->log);
    if (ctx == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    ctx->handler = handler;
    ctx->data = data;

    ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

    r = &rd.ops[0];
    r->op = NGX_HOTLINE_READ_INBOX;
    r->key = *ngx_http_hotline_tkey(call_id);
    r->n = ngx_http_hotline_dcf->transcript + NGX_HOTLINE_LOG_SLACK;
    rd.n = 1;

    ngx_http_hotline_st->read(&rd, ngx_http_hotline_transcript_done, ctx);
}


static void
ngx_http_hotline_transcript_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    ngx_http_hotline_lines_t *ctx = data;

    ngx_str_t                 *lines;
    ngx_uint_t                 i, n;
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_lines_pt  handler;

    handler = ctx->handler;
    data = ctx->data;
    ngx_free(ctx);

    if (err != NGX_HOTLINE_OK) {
        handler(data, err, NULL, 0);
        return;
    }

    r = &rd->ops[0];
    n = r->nrecs;

    /* the records' values are the lines; an array of them for the caller */

    lines = n ? ngx_alloc(n * sizeof(ngx_str_t), ngx_cycle->log) : NULL;

    if (n && lines == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    for (i = 0; i < n; i++) {
        lines[i] = r->recs[i].value;
    }

    handler(data, NGX_HOTLINE_OK, lines, n);

    if (lines) {
        ngx_free(lines);
    }
}


/* the worker's tick: due timers and orphans, gauges, waiting detaches */

static void
ngx_http_hotline_tick(ngx_event_t *ev)
{
    ngx_queue_t            *q, *next;
    ngx_http_hotline_op_t  *op;

    if (ngx_http_hotline_st->up == NULL || ngx_http_hotline_st->up()) {

        for (q = ngx_queue_head(&ngx_http_hotline_detaches);
             q != ngx_queue_sentinel(&ngx_http_hotline_detaches);
             q = next)
        {
            next = ngx_queue_next(q);
            op = ngx_queue_data(q, ngx_http_hotline_op_t, link);
            ngx_http_hotline_op_read(op);
        }

        if (!ngx_http_hotline_seeded) {
            ngx_http_hotline_seed();
        }

        if (!ngx_http_hotline_due_busy) {
            ngx_http_hotline_due_busy = 1;
            ngx_http_hotline_st->due(NGX_HOTLINE_DUE_BATCH,
                                     ngx_http_hotline_cf->resume_timeout,
                                     ngx_http_hotline_due_done, NULL);
        }

        ngx_http_hotline_call_gauges(NULL);
    }

    ngx_http_hotline_zone_check(ev->log);

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_TICK);
    }
}


static void
ngx_http_hotline_due_done(void *data, ngx_uint_t err,
    ngx_http_hotline_due_t *due, ngx_uint_t n)
{
    ngx_uint_t              i;
    ngx_http_hotline_op_t  *op;

    ngx_http_hotline_due_busy = 0;

    if (err != NGX_HOTLINE_OK) {
        return;
    }

    for (i = 0; i < n; i++) {
        op = ngx_http_hotline_op(due[i].why == NGX_HOTLINE_DUE_ORPHAN
                                 ? NGX_HOTLINE_OP_ORPHAN
                                 : NGX_HOTLINE_OP_EXPIRE, NULL, NULL, NULL);
        if (op == NULL) {
            return;
        }

        if (ngx_http_hotline_token_of(&due[i].key, op->token) != NGX_OK) {
            ngx_http_hotline_op_free(op);
            continue;
        }

        if (due[i].why == NGX_HOTLINE_DUE_ORPHAN) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "hotline: the worker of party %V is gone, it "
                          "waits for resume", &due[i].key);
        }

        ngx_http_hotline_op_read(op);
    }
}


/* today's count of calls survives a restart: from the journal */

static void
ngx_http_hotline_seed(void)
{
    ngx_http_hotline_op_t  *op;

    ngx_http_hotline_seeded = 1;    /* again only if this one fails */

    op = ngx_http_hotline_op(NGX_HOTLINE_OP_SEED, NULL, NULL, NULL);
    if (op == NULL) {
        return;
    }

    ngx_http_hotline_op_read(op);
}

