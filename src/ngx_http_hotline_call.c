
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_metrics.h"


/*
 * An operation runs in steps: read what it needs, decide, commit.  The
 * store checks at commit that the records are still as read; if not
 * (NGX_HOTLINE_E_CONFLICT) the operation reads and decides again.
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

#define NGX_HOTLINE_TRIES          16
#define NGX_HOTLINE_TICK           500    /* ms */
#define NGX_HOTLINE_DUE_BATCH      100
#define NGX_HOTLINE_DAY_TTL        (2 * 86400000)

#define NGX_HOTLINE_C_WAITING      0
#define NGX_HOTLINE_C_ACTIVE       1
#define NGX_HOTLINE_C_ONLINE       2
#define NGX_HOTLINE_C_BUSY         3
#define NGX_HOTLINE_C_AVG          4
#define NGX_HOTLINE_C_N            5


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
    uint64_t                       last_seq;
    int64_t                        count;      /* seed */
    size_t                         name_len;
    u_char                         name[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    size_t                         display_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         addr_len;
    u_char                         addr[NGX_SOCKADDR_STRLEN];

    /* what was read */
    ngx_http_hotline_party_t       me;
    ngx_http_hotline_party_t       other;
    uint64_t                       index;      /* the index's version */
    uint64_t                       ticket;
    int64_t                        avg;        /* -1: none stored */

    /* what the commit makes of the caller's party */
    uint64_t                       version;
    ngx_uint_t                     state;
    u_char                         peer[NGX_HOTLINE_ID_LEN];

    ngx_http_hotline_result_t      res;

    /* a call that the commit ends */
    ngx_http_hotline_call_record_t rec;
    u_char                         rec_customer[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    u_char                         rec_agent[NGX_HOTLINE_NAME_MAX];

    unsigned                       has_call_id:1;
    unsigned                       ends:1;
    unsigned                       waiting:1;  /* detach: for the store */
} ngx_http_hotline_op_t;


/* a relay waits in order while its party's view is read again */
typedef struct {
    ngx_queue_t                    link;
    ngx_http_hotline_ref_t        *ref;
    ngx_http_hotline_call_pt       handler;
    void                          *data;
    size_t                         len;
    u_char                         msg[1];
} ngx_http_hotline_relay_t;


static ngx_http_hotline_op_t *ngx_http_hotline_op(ngx_uint_t kind,
    ngx_http_hotline_ref_t *ref, ngx_http_hotline_call_pt handler,
    void *data);
static void ngx_http_hotline_op_read(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_op_read_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static ngx_uint_t ngx_http_hotline_op_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static void ngx_http_hotline_op_commit_done(void *data,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_op_finish(ngx_http_hotline_op_t *op,
    ngx_uint_t err);

static ngx_uint_t ngx_http_hotline_decide_join(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_login(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_resume(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_accept(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_detach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_expire(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);

static void ngx_http_hotline_attach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *p, int64_t from);
static void ngx_http_hotline_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a, ngx_uint_t reason, ngx_uint_t by,
    ngx_http_hotline_party_t *who);
static void ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
static void ngx_http_hotline_tx_put(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
static void ngx_http_hotline_tx_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
static void ngx_http_hotline_tx_event(ngx_http_hotline_txn_t *tx,
    u_char *token, ngx_http_hotline_event_t *ev);
static void ngx_http_hotline_tx_peer(ngx_http_hotline_txn_t *tx,
    u_char *token, ngx_uint_t state);
static void ngx_http_hotline_tx_count(ngx_http_hotline_txn_t *tx,
    ngx_uint_t counter, int64_t delta);
static ngx_str_t *ngx_http_hotline_pkey(u_char *token);
static ngx_str_t *ngx_http_hotline_ckey(u_char *call_id);
static ngx_str_t *ngx_http_hotline_akey(u_char *name, size_t len);
static ngx_str_t *ngx_http_hotline_dkey(void);
static ngx_int_t ngx_http_hotline_token_of(ngx_str_t *key, u_char *token);
static int64_t ngx_http_hotline_now(void);

static void ngx_http_hotline_detach_now(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_ref_done(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_relay_send(ngx_http_hotline_relay_t *r);
static void ngx_http_hotline_relay_end(ngx_http_hotline_relay_t *r,
    ngx_uint_t err);
static void ngx_http_hotline_relay_done(void *data,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_relay_view(ngx_http_hotline_ref_t *ref);
static void ngx_http_hotline_relay_flush(ngx_http_hotline_ref_t *ref,
    ngx_uint_t err);

static void ngx_http_hotline_tick(ngx_event_t *ev);
static void ngx_http_hotline_due_done(void *data, ngx_uint_t err,
    ngx_http_hotline_due_t *due, ngx_uint_t n);
static void ngx_http_hotline_gauges_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_queue_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_seed(void);


static ngx_str_t  ngx_http_hotline_counter_names[] = {
    ngx_string("waiting"),
    ngx_string("active"),
    ngx_string("online"),
    ngx_string("busy"),
    ngx_string("avg")
};


static ngx_http_hotline_store_t      *ngx_http_hotline_st;
static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;
static ngx_event_t                    ngx_http_hotline_tick_ev;
static ngx_queue_t                    ngx_http_hotline_detaches;
static ngx_http_hotline_gauges_t      ngx_http_hotline_g;
static ngx_uint_t                     ngx_http_hotline_due_busy;
static ngx_uint_t                     ngx_http_hotline_seeded;
static ngx_uint_t                     ngx_http_hotline_gauges_busy;

/* the queue snapshot: one read at a time, the latest caller gets it */
static ngx_http_hotline_queue_t       ngx_http_hotline_snap;
static ngx_uint_t                     ngx_http_hotline_snap_size;
static ngx_uint_t                     ngx_http_hotline_snap_busy;
static ngx_uint_t                     ngx_http_hotline_snap_again;
static ngx_http_hotline_queue_pt      ngx_http_hotline_snap_handler;
static void                          *ngx_http_hotline_snap_data;

/* keys are built here; a transaction copies them */
static u_char  ngx_http_hotline_keybuf[4][NGX_HOTLINE_KEY_MAX];
static ngx_uint_t  ngx_http_hotline_keyn;


ngx_int_t
ngx_http_hotline_call_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_store_t *store)
{
    ngx_http_hotline_st = store;
    ngx_http_hotline_cf = ngx_http_cycle_get_module_main_conf(cycle,
                                                  ngx_http_hotline_module);

    ngx_queue_init(&ngx_http_hotline_detaches);

    ngx_http_hotline_tick_ev.handler = ngx_http_hotline_tick;
    ngx_http_hotline_tick_ev.log = cycle->log;
    ngx_http_hotline_tick_ev.data = cycle;
    ngx_http_hotline_tick_ev.cancelable = 1;

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

    if (ngx_http_hotline_snap.items) {
        ngx_free(ngx_http_hotline_snap.items);
        ngx_http_hotline_snap.items = NULL;
        ngx_http_hotline_snap_size = 0;
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

    if (ngx_http_hotline_random_id(op->token) != NGX_OK
        || ngx_http_hotline_random_id(op->call_id) != NGX_OK)
    {
        ngx_http_hotline_op_finish(op, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    op->name_len = ngx_min(len, NGX_HOTLINE_CUSTOMER_NAME_MAX);
    ngx_memcpy(op->name, name, op->name_len);
    op->addr_len = ngx_min(addr->len, NGX_SOCKADDR_STRLEN);
    ngx_memcpy(op->addr, addr->data, op->addr_len);

    ngx_http_hotline_op_read(op);
}


void
ngx_http_hotline_call_login(ngx_http_hotline_ref_t *ref, u_char *sub,
    size_t sub_len, u_char *display, size_t display_len,
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

    op->name_len = ngx_min(sub_len, NGX_HOTLINE_NAME_MAX);
    ngx_memcpy(op->name, sub, op->name_len);
    op->display_len = ngx_min(display_len, NGX_HOTLINE_NAME_MAX);
    ngx_memcpy(op->display, display, op->display_len);

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

    ngx_memcpy(op->token, token, NGX_HOTLINE_ID_LEN);
    op->last_seq = last_seq;
    op->name_len = ngx_min(sub_len, NGX_HOTLINE_NAME_MAX);
    ngx_memcpy(op->name, sub, op->name_len);

    ngx_http_hotline_op_read(op);
}


static void
ngx_http_hotline_call_party_op(ngx_uint_t kind, ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data)
{
    ngx_http_hotline_op_t  *op;

    if (!ref->has_token) {
        handler(data, NGX_HOTLINE_E_BAD_STATE, NULL);
        return;
    }

    op = ngx_http_hotline_op(kind, ref, handler, data);
    if (op == NULL) {
        return;
    }

    ngx_memcpy(op->token, ref->token, NGX_HOTLINE_ID_LEN);

    if (call_id) {
        ngx_memcpy(op->call_id, call_id, NGX_HOTLINE_ID_LEN);
        op->has_call_id = 1;
    }

    ngx_http_hotline_op_read(op);
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

    if (c == NULL) {
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
    ngx_memcpy(op->token, ref->token, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_op_read(op);
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

    if (ref) {
        ref->ops++;
    }

    return op;
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
        /* the other party of a call that ends */
        r->op = NGX_HOTLINE_READ_RECORD;
        r->key = *ngx_http_hotline_pkey(op->me.peer);
        rd.n = 1;

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
        r->key = *ngx_http_hotline_akey(op->name, op->name_len);
        rd.n = 1;
        break;

    case NGX_HOTLINE_OP_SEED:
        r->op = NGX_HOTLINE_READ_COUNTERS;
        r->names = ngx_http_hotline_dkey();
        r->n = 1;
        rd.n = 1;
        break;

    default:
        r->op = NGX_HOTLINE_READ_RECORD;
        r->key = *ngx_http_hotline_pkey(op->token);
        rd.n = 1;

        if (op->kind == NGX_HOTLINE_OP_ACCEPT && !op->has_call_id) {
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_QUEUE;
            r->n = 1;

        } else if (op->has_call_id) {
            r = &rd.ops[rd.n++];
            r->op = NGX_HOTLINE_READ_INDEX;
            r->key = *ngx_http_hotline_ckey(op->call_id);
        }

        if (op->kind != NGX_HOTLINE_OP_VIEW
            && op->kind != NGX_HOTLINE_OP_RESUME
            && op->kind != NGX_HOTLINE_OP_ACCEPT)
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

            } else if (r->nrecs) {
                rec = &r->recs[0];
            }

            /* the first record read is the caller's, the second another */
            p = (r->op == NGX_HOTLINE_READ_RECORD && op->step == 0)
                ? &op->me : &op->other;

            if (op->kind == NGX_HOTLINE_OP_LOGIN) {
                p = &op->me;
            }

            ngx_memzero(p, sizeof(ngx_http_hotline_party_t));

            if (rec && rec->version
                && ngx_http_hotline_party_decode(&rec->value, p) == NGX_OK)
            {
                p->version = rec->version;
                p->attached = rec->attached;
                p->ticket = rec->ticket ? rec->ticket : p->ticket;
            }

            break;
        }
    }

    ngx_http_hotline_txn_init(&tx);

    rc = ngx_http_hotline_op_decide(op, &tx);

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


static ngx_uint_t
ngx_http_hotline_op_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    switch (op->kind) {

    case NGX_HOTLINE_OP_JOIN:
        return ngx_http_hotline_decide_join(op, tx);

    case NGX_HOTLINE_OP_LOGIN:
        return ngx_http_hotline_decide_login(op, tx);

    case NGX_HOTLINE_OP_RESUME:
        return ngx_http_hotline_decide_resume(op, tx);

    case NGX_HOTLINE_OP_ACCEPT:
        return ngx_http_hotline_decide_accept(op, tx);

    case NGX_HOTLINE_OP_VIEW:
        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_OP_DETACH:
    case NGX_HOTLINE_OP_ORPHAN:
        return ngx_http_hotline_decide_detach(op, tx);

    case NGX_HOTLINE_OP_EXPIRE:
        return ngx_http_hotline_decide_expire(op, tx);

    case NGX_HOTLINE_OP_SEED:

        if (op->count >= 0) {
            ngx_http_hotline_seeded = 1;
            return NGX_HOTLINE_OK;
        }

        ngx_http_hotline_tx_count(tx, (ngx_uint_t) -1,
                                  ngx_http_hotline_history_count_today(
                                                      ngx_cycle->log));
        return NGX_HOTLINE_OK;

    default: /* reject, ban, hangup */
        return ngx_http_hotline_decide_end(op, tx);
    }
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
    ngx_http_hotline_ref_t          *ref;
    ngx_http_hotline_call_record_t  *rec;
    u_char                           id[NGX_HOTLINE_ID_HEX];

    ref = op->ref;

    if (err == NGX_HOTLINE_OK && op->ends) {
        rec = &op->rec;

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

    ngx_free(op);
}


/* decisions: each fills the transaction, or says why not */

static ngx_uint_t
ngx_http_hotline_decide_join(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_str_t                     *key;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_party_t      *c;
    ngx_http_hotline_main_conf_t  *cf;

    cf = ngx_http_hotline_cf;
    c = &op->me;

    ngx_memzero(c, sizeof(ngx_http_hotline_party_t));

    c->role = NGX_HOTLINE_ROLE_CUSTOMER;
    c->state = NGX_HOTLINE_WAITING;
    ngx_memcpy(c->token, op->token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(c->call_id, op->call_id, NGX_HOTLINE_ID_LEN);
    c->ticket = op->ticket;
    c->joined = ngx_http_hotline_now();
    c->name_len = op->name_len;
    ngx_memcpy(c->name, op->name, op->name_len);
    c->addr_len = op->addr_len;
    ngx_memcpy(c->addr, op->addr, op->addr_len);

    ngx_http_hotline_tx_put(tx, c);

    /* the call's index names the party */
    key = ngx_http_hotline_pkey(c->token);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_ckey(c->call_id));
    if (t) {
        (void) ngx_http_hotline_txn_value(tx, t, key->data, key->len);
    }

    /* full queue first, then the daily limit: the order clients see */

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_QUEUE,
                                 ngx_http_hotline_pkey(c->token));
    if (t) {
        t->n = (int64_t) c->ticket;
        t->max = cf->queue_size;
        t->err = NGX_HOTLINE_E_QUEUE_FULL;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                 ngx_http_hotline_dkey());
    if (t) {
        t->n = 1;
        t->max = cf->daily_limit;
        t->err = NGX_HOTLINE_E_DAILY_LIMIT;
        t->ttl = NGX_HOTLINE_DAY_TTL;
    }

    ngx_http_hotline_attach(op, tx, c, 0);

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WAITING, 1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    op->version = 1;
    op->state = NGX_HOTLINE_WAITING;

    ngx_memcpy(op->res.resume, c->token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    op->res.ticket = c->ticket;
    op->res.waiting = 1;

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
ngx_http_hotline_decide_login(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_str_t                 *key;
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *a;

    a = &op->me;

    if (a->version && a->role == NGX_HOTLINE_ROLE_AGENT) {

        /* the same agent again: it takes its session over */

        ngx_memcpy(op->token, a->token, NGX_HOTLINE_ID_LEN);

        ngx_http_hotline_tx_check(tx, a);
        ngx_http_hotline_attach(op, tx, a, -1);

        op->res.resumed = 1;
        ngx_memcpy(op->res.resume, a->token, NGX_HOTLINE_ID_LEN);

        if (a->state == NGX_HOTLINE_ACTIVE && a->has_peer) {
            op->res.in_call = 1;
            ngx_memcpy(op->res.call_id, a->call_id, NGX_HOTLINE_ID_LEN);
        }

        op->version = a->version;
        op->state = a->state;
        ngx_memcpy(op->peer, a->peer, NGX_HOTLINE_ID_LEN);

        return NGX_HOTLINE_OK;
    }

    ngx_memzero(a, sizeof(ngx_http_hotline_party_t));

    a->role = NGX_HOTLINE_ROLE_AGENT;
    a->state = NGX_HOTLINE_IDLE;
    ngx_memcpy(a->token, op->token, NGX_HOTLINE_ID_LEN);
    a->joined = ngx_http_hotline_now();
    a->name_len = op->name_len;
    ngx_memcpy(a->name, op->name, op->name_len);
    a->display_len = op->display_len;
    ngx_memcpy(a->display, op->display, op->display_len);

    /* no other login of this agent got in first */
    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_CHECK,
                                 ngx_http_hotline_akey(a->name, a->name_len));
    if (t) {
        t->n = (int64_t) op->index;
    }

    ngx_http_hotline_tx_put(tx, a);

    key = ngx_http_hotline_pkey(a->token);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_akey(a->name, a->name_len));
    if (t) {
        (void) ngx_http_hotline_txn_value(tx, t, key->data, key->len);
    }

    ngx_http_hotline_attach(op, tx, a, 0);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ONLINE, 1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    ngx_memcpy(op->res.resume, a->token, NGX_HOTLINE_ID_LEN);

    op->version = 1;
    op->state = NGX_HOTLINE_IDLE;

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
ngx_http_hotline_decide_resume(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_party_t  *p;

    p = &op->me;

    if (p->version == 0
        || p->role != op->ref->role
        || (p->role == NGX_HOTLINE_ROLE_AGENT
            && (p->name_len != op->name_len
                || ngx_memcmp(p->name, op->name, op->name_len) != 0))
        || (p->state == NGX_HOTLINE_ENDED
            && p->reason == NGX_HOTLINE_END_BANNED))
    {
        /* unknown, someone else's, over, or banned: its token is dead */
        return NGX_HOTLINE_E_EXPIRED;
    }

    ngx_http_hotline_tx_check(tx, p);
    ngx_http_hotline_attach(op, tx, p, (int64_t) op->last_seq);

    op->res.resumed = 1;
    op->res.ticket = p->ticket;
    ngx_memcpy(op->res.resume, p->token, NGX_HOTLINE_ID_LEN);

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        ngx_memcpy(op->res.call_id, p->call_id, NGX_HOTLINE_ID_LEN);
        op->res.waiting = (p->state == NGX_HOTLINE_WAITING);
        op->res.in_call = (p->state == NGX_HOTLINE_ACTIVE);
        op->res.ended = (p->state == NGX_HOTLINE_ENDED);

    } else if (p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
        op->res.in_call = 1;
        ngx_memcpy(op->res.call_id, p->call_id, NGX_HOTLINE_ID_LEN);
    }

    op->version = p->version;
    op->state = p->state;
    ngx_memcpy(op->peer, p->peer, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}


/*
 * A connection takes the party's inbox: replayed after seq from (-1: what
 * the inbox counts as delivered); a party in a call tells its peer that
 * it was reconnecting (unless the peer was told when the old connection
 * went) and that it is back.
 */

static void
ngx_http_hotline_attach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *p, int64_t from)
{
    ngx_http_hotline_ref_t   *ref;
    ngx_http_hotline_txop_t  *t;

    ref = op->ref;

    if (ref->consumer == NULL) {
        ref->consumer = ngx_http_hotline_st->consumer(ref->owner);
        if (ref->consumer == NULL) {
            tx->overflow = 1;
            return;
        }
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_ATTACH,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->consumer = ref->consumer;
        t->n = from;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->n = 0;
    }

    if (p->version && p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
        if (p->attached) {
            ngx_http_hotline_tx_peer(tx, p->peer,
                                     NGX_HOTLINE_PEER_RECONNECTING);
        }

        ngx_http_hotline_tx_peer(tx, p->peer, NGX_HOTLINE_PEER_BACK);
    }
}


static ngx_uint_t
ngx_http_hotline_decide_accept(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    size_t                         n;
    int64_t                        now;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_event_t       ev;
    ngx_http_hotline_party_t       c, a;
    ngx_http_hotline_recorder_t   *rc;
    u_char                         token[NGX_HOTLINE_RECORDING_MAX];

    a = op->me;
    c = op->other;

    if (a.version == 0 || a.role != NGX_HOTLINE_ROLE_AGENT
        || a.state != NGX_HOTLINE_IDLE)
    {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (c.version == 0 || c.role != NGX_HOTLINE_ROLE_CUSTOMER
        || c.state == NGX_HOTLINE_ENDED)
    {
        return NGX_HOTLINE_E_NOT_FOUND;
    }

    if (c.state != NGX_HOTLINE_WAITING) {
        return NGX_HOTLINE_E_TAKEN;
    }

    rc = ngx_http_hotline_cf->recorder;
    now = ngx_http_hotline_now();

    c.state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(c.peer, a.token, NGX_HOTLINE_ID_LEN);
    c.has_peer = 1;
    c.accepted = now;
    c.recorded = (rc != NULL);

    a.state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(a.peer, c.token, NGX_HOTLINE_ID_LEN);
    a.has_peer = 1;
    ngx_memcpy(a.call_id, c.call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_tx_check(tx, &a);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(a.token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    ngx_http_hotline_tx_check(tx, &c);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_UNQUEUE,
                                    ngx_http_hotline_pkey(c.token));

    ngx_http_hotline_tx_put(tx, &c);
    ngx_http_hotline_tx_put(tx, &a);

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WAITING, -1);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ACTIVE, 1);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_BUSY, 1);

    /* each party hears who the other is, and gets its recording token */

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_ACCEPTED;
    ngx_memcpy(ev.call_id, c.call_id, NGX_HOTLINE_ID_LEN);

    ev.role = NGX_HOTLINE_ROLE_AGENT;
    ev.name.data = a.display_len ? a.display : a.name;
    ev.name.len = a.display_len ? a.display_len : a.name_len;
    n = rc ? ngx_http_hotline_recording_token(token, rc, c.call_id,
                                              NGX_HOTLINE_ROLE_CUSTOMER)
           : 0;
    ev.token.data = token;
    ev.token.len = n;
    ngx_http_hotline_tx_event(tx, c.token, &ev);

    ev.role = NGX_HOTLINE_ROLE_CUSTOMER;
    ev.name.data = c.name;
    ev.name.len = c.name_len;
    n = rc ? ngx_http_hotline_recording_token(token, rc, c.call_id,
                                              NGX_HOTLINE_ROLE_AGENT)
           : 0;
    ev.token.len = n;
    ngx_http_hotline_tx_event(tx, a.token, &ev);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    ngx_memcpy(op->res.call_id, c.call_id, NGX_HOTLINE_ID_LEN);
    op->res.in_call = 1;

    op->version = a.version + 1;
    op->state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(op->peer, c.token, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}


/* reject, ban, hangup */

static ngx_uint_t
ngx_http_hotline_decide_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *me, *c;

    me = &op->me;

    if (me->version == 0 || me->role != op->ref->role) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(me->token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    if (op->kind == NGX_HOTLINE_OP_HANGUP) {

        if (me->state == NGX_HOTLINE_WAITING) {
            ngx_http_hotline_end(op, tx, me, NULL, NGX_HOTLINE_END_CANCELLED,
                                 me->role, NULL);
            return NGX_HOTLINE_OK;
        }

        if (me->state != NGX_HOTLINE_ACTIVE || !me->has_peer) {
            return NGX_HOTLINE_E_BAD_STATE;
        }

        if (op->step == 0) {
            return NGX_HOTLINE_E_AGAIN;
        }

        if (op->other.version == 0) {
            /* the peer is gone already: its end is on its way */
            return NGX_HOTLINE_E_BAD_STATE;
        }

        if (me->role == NGX_HOTLINE_ROLE_CUSTOMER) {
            ngx_http_hotline_end(op, tx, me, &op->other,
                                 NGX_HOTLINE_END_HANGUP, me->role, NULL);

        } else {
            ngx_http_hotline_end(op, tx, &op->other, me,
                                 NGX_HOTLINE_END_HANGUP, me->role, NULL);
        }

        return NGX_HOTLINE_OK;
    }

    /* reject, ban: a waiting call, or (ban) the agent's own */

    c = &op->other;

    if (me->role != NGX_HOTLINE_ROLE_AGENT) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (c->version == 0 || c->role != NGX_HOTLINE_ROLE_CUSTOMER
        || c->state == NGX_HOTLINE_ENDED)
    {
        return NGX_HOTLINE_E_NOT_FOUND;
    }

    if (c->state != NGX_HOTLINE_WAITING
        && (op->kind == NGX_HOTLINE_OP_REJECT
            || !c->has_peer
            || ngx_memcmp(c->peer, me->token, NGX_HOTLINE_ID_LEN) != 0))
    {
        /* another agent's call */
        return NGX_HOTLINE_E_TAKEN;
    }

    if (op->kind == NGX_HOTLINE_OP_REJECT) {
        ngx_http_hotline_end(op, tx, c, NULL, NGX_HOTLINE_END_REJECTED,
                             NGX_HOTLINE_ROLE_AGENT, me);
        return NGX_HOTLINE_OK;
    }

    ngx_memcpy(op->res.addr, c->addr, c->addr_len);
    op->res.addr_len = c->addr_len;
    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_end(op, tx, c,
                         c->state == NGX_HOTLINE_ACTIVE ? me : NULL,
                         NGX_HOTLINE_END_BANNED, NGX_HOTLINE_ROLE_AGENT, me);

    return NGX_HOTLINE_OK;
}


/*
 * Ends the call of customer c (agent a: its agent, in a call), for the
 * reason; who: the agent named in the history when a is not.
 */

static void
ngx_http_hotline_end(ngx_http_hotline_op_t *op, ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, ngx_http_hotline_party_t *a,
    ngx_uint_t reason, ngx_uint_t by, ngx_http_hotline_party_t *who)
{
    int64_t                          now, ms, avg, stored;
    ngx_uint_t                       duration;
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_event_t         ev;
    ngx_http_hotline_call_record_t  *rec;

    now = ngx_http_hotline_now();
    duration = 0;

    ngx_http_hotline_tx_check(tx, c);

    if (c->state == NGX_HOTLINE_WAITING) {
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_UNQUEUE,
                                        ngx_http_hotline_pkey(c->token));
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WAITING, -1);
        a = NULL;

    } else if (c->state == NGX_HOTLINE_ACTIVE) {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ACTIVE, -1);
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_BUSY, -1);

        ms = now - c->accepted;
        if (ms < 0) {
            ms = 0;
        }

        duration = (ngx_uint_t) ((ms + 500) / 1000);

        /* a rolling average of handling time, weight 1/8 */
        stored = op->avg >= 0 ? op->avg : 0;
        avg = op->avg >= 0 ? op->avg
                           : (int64_t) ngx_http_hotline_cf->average_handle_time;
        avg = avg - avg / 8 + ms / 8;
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AVG, avg - stored);

        if (a && a->version) {
            ngx_http_hotline_tx_check(tx, a);

            a->state = NGX_HOTLINE_IDLE;
            a->has_peer = 0;
            ngx_memzero(a->peer, NGX_HOTLINE_ID_LEN);
            ngx_memzero(a->call_id, NGX_HOTLINE_ID_LEN);

            ngx_http_hotline_tx_put(tx, a);

        } else {
            a = NULL;
        }

    } else {
        a = NULL;
    }

    c->state = NGX_HOTLINE_ENDED;
    c->reason = reason;
    c->has_peer = 0;
    c->recorded = c->recorded && c->accepted;
    ngx_http_hotline_tx_put(tx, c);

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_ENDED;
    ngx_memcpy(ev.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    ev.reason = reason;
    ev.by = by;
    ev.duration = duration;

    ngx_http_hotline_tx_event(tx, c->token, &ev);

    if (a) {
        ngx_http_hotline_tx_event(tx, a->token, &ev);
    }

    /* the record, for the history (of all nodes) and this node's journal */

    op->ends = 1;
    rec = &op->rec;

    if (a == NULL) {
        a = who;
    }

    ngx_memcpy(rec->call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(op->rec_customer, c->name, c->name_len);
    rec->customer = op->rec_customer;
    rec->customer_len = c->name_len;

    if (a) {
        ngx_memcpy(op->rec_agent, a->name, a->name_len);
        rec->agent = op->rec_agent;
        rec->agent_len = a->name_len;

    } else {
        rec->agent = NULL;
        rec->agent_len = 0;
    }

    rec->joined = c->joined;
    rec->accepted = c->accepted;
    rec->ended = now;
    rec->reason = reason;
    rec->by = by;
    rec->duration = duration;
    rec->recorded = c->recorded;

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_HISTORY, NULL);
    if (t) {
        t->rec = rec;
    }

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
}


/*
 * The connection of a party is gone (detach), or its worker died (orphan:
 * the store released it already): the grace period starts, and a peer
 * in a call hears that the party is reconnecting.
 */

static ngx_uint_t
ngx_http_hotline_decide_detach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_party_t        *p;
    ngx_http_hotline_consumer_info_t ci;

    p = &op->me;

    if (p->version == 0) {
        return NGX_HOTLINE_OK;
    }

    ngx_http_hotline_tx_check(tx, p);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        /* the orphan's consumer is gone: nobody took it back since */
        t->consumer = op->consumer;
    }

    if (op->kind == NGX_HOTLINE_OP_DETACH) {
        ngx_http_hotline_st->consumer_info(op->consumer, &ci);

        if (p->role == NGX_HOTLINE_ROLE_CUSTOMER
            && p->state == NGX_HOTLINE_ENDED && ci.delivered >= ci.last)
        {
            /* the call is over and its end was sent: the token dies */
            ngx_http_hotline_free_party(tx, p);
            return NGX_HOTLINE_OK;
        }

        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_RELEASE,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            t->consumer = op->consumer;
            t->n = (int64_t) ci.delivered;
        }

        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            t->n = ngx_http_hotline_cf->resume_timeout;
        }
    }

    if (p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
        ngx_http_hotline_tx_peer(tx, p->peer, NGX_HOTLINE_PEER_RECONNECTING);
    }

    return NGX_HOTLINE_OK;
}


/* the grace period is over: the call ends, the party is freed */

static ngx_uint_t
ngx_http_hotline_decide_expire(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *p;

    p = &op->me;

    if (p->version == 0) {
        /* a timer left behind */
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                        ngx_http_hotline_pkey(op->token));
        return NGX_HOTLINE_OK;
    }

    if (p->attached) {
        /* it came back */
        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            t->n = 0;
        }

        return NGX_HOTLINE_OK;
    }

    if (p->state == NGX_HOTLINE_ACTIVE && p->has_peer && op->step == 0) {
        return NGX_HOTLINE_E_AGAIN;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->consumer = NULL;
    }

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {

        if (p->state != NGX_HOTLINE_ENDED) {
            ngx_http_hotline_end(op, tx, p,
                                 op->other.version ? &op->other : NULL,
                                 NGX_HOTLINE_END_GONE,
                                 NGX_HOTLINE_ROLE_CUSTOMER, NULL);
        }

        ngx_http_hotline_free_party(tx, p);
        return NGX_HOTLINE_OK;
    }

    if (p->state == NGX_HOTLINE_ACTIVE && op->other.version) {
        ngx_http_hotline_end(op, tx, &op->other, NULL, NGX_HOTLINE_END_GONE,
                             NGX_HOTLINE_ROLE_AGENT, p);
    }

    ngx_http_hotline_tx_check(tx, p);
    ngx_http_hotline_free_party(tx, p);

    return NGX_HOTLINE_OK;
}


static void
ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                    ngx_http_hotline_pkey(p->token));

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                        ngx_http_hotline_ckey(p->call_id));
        return;
    }

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                    ngx_http_hotline_akey(p->name,
                                                          p->name_len));
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ONLINE, -1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
}


/* transaction pieces */

static void
ngx_http_hotline_tx_put(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    size_t                    n;
    ngx_http_hotline_txop_t  *t;
    u_char                    buf[NGX_HOTLINE_VALUE_MAX];

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_pkey(p->token));
    if (t == NULL) {
        return;
    }

    n = ngx_http_hotline_party_encode(buf, p);

    (void) ngx_http_hotline_txn_value(tx, t, buf, n);
}


static void
ngx_http_hotline_tx_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    ngx_uint_t                i;
    ngx_str_t                *key;
    ngx_http_hotline_txop_t  *t;

    key = ngx_http_hotline_pkey(p->token);

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];

        if (t->op == NGX_HOTLINE_TX_CHECK && t->key.len == key->len
            && ngx_memcmp(t->key.data, key->data, key->len) == 0)
        {
            return;
        }
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_CHECK, key);
    if (t) {
        t->n = (int64_t) p->version;
    }
}


static void
ngx_http_hotline_tx_event(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_http_hotline_event_t *ev)
{
    u_char                   *last;
    ngx_http_hotline_txop_t  *t;
    u_char                    buf[NGX_HOTLINE_EVENT_CODE_MAX];

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_APPEND,
                                 ngx_http_hotline_pkey(token));
    if (t == NULL) {
        return;
    }

    last = ngx_http_hotline_event_encode(buf, ev);

    t->force = 1;
    t->max = ngx_http_hotline_cf->replay_buffer;
    t->err = NGX_HOTLINE_E_PEER_BACKLOG;

    (void) ngx_http_hotline_txn_value(tx, t, buf, last - buf);
}


static void
ngx_http_hotline_tx_peer(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_uint_t state)
{
    ngx_http_hotline_event_t  ev;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_PEER;
    ev.state = state;

    ngx_http_hotline_tx_event(tx, token, &ev);
}


/* counter (ngx_uint_t) -1 is today's */

static void
ngx_http_hotline_tx_count(ngx_http_hotline_txn_t *tx, ngx_uint_t counter,
    int64_t delta)
{
    ngx_http_hotline_txop_t  *t;

    if (counter == (ngx_uint_t) -1) {
        /* the seed: only where there is none */
        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                     ngx_http_hotline_dkey());
        if (t) {
            t->n = delta;
            t->force = 1;
            t->ttl = NGX_HOTLINE_DAY_TTL;
        }

        return;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                 &ngx_http_hotline_counter_names[counter]);
    if (t) {
        t->n = delta;
    }
}


/* keys: built into a small ring, copied by the transaction */

static ngx_str_t *
ngx_http_hotline_key(u_char *prefix, u_char *data, size_t len,
    ngx_uint_t hex)
{
    u_char            *p;
    static ngx_str_t   key[4];

    ngx_http_hotline_keyn = (ngx_http_hotline_keyn + 1) % 4;

    p = ngx_http_hotline_keybuf[ngx_http_hotline_keyn];
    p = ngx_cpymem(p, prefix, ngx_strlen(prefix));

    if (hex) {
        p = ngx_http_hotline_hex(p, data, len);

    } else {
        p = ngx_cpymem(p, data, ngx_min(len, NGX_HOTLINE_KEY_MAX - 2));
    }

    key[ngx_http_hotline_keyn].data =
                               ngx_http_hotline_keybuf[ngx_http_hotline_keyn];
    key[ngx_http_hotline_keyn].len =
                     p - ngx_http_hotline_keybuf[ngx_http_hotline_keyn];

    return &key[ngx_http_hotline_keyn];
}


static ngx_str_t *
ngx_http_hotline_pkey(u_char *token)
{
    return ngx_http_hotline_key((u_char *) "p:", token, NGX_HOTLINE_ID_LEN,
                                1);
}


static ngx_str_t *
ngx_http_hotline_ckey(u_char *call_id)
{
    return ngx_http_hotline_key((u_char *) "c:", call_id, NGX_HOTLINE_ID_LEN,
                                1);
}


static ngx_str_t *
ngx_http_hotline_akey(u_char *name, size_t len)
{
    return ngx_http_hotline_key((u_char *) "a:", name, len, 0);
}


/* today's counter: day:<UTC days since 1970> */

static ngx_str_t *
ngx_http_hotline_dkey(void)
{
    u_char     *p;
    ngx_str_t  *key;
    u_char      day[NGX_TIME_T_LEN];

    p = ngx_sprintf(day, "%T", ngx_time() / 86400);

    key = ngx_http_hotline_key((u_char *) "day:", day, p - day, 0);

    return key;
}


/* the token of a key "p:<hex>" */

static ngx_int_t
ngx_http_hotline_token_of(ngx_str_t *key, u_char *token)
{
    if (key->len != 2 + NGX_HOTLINE_ID_HEX
        || key->data[0] != 'p' || key->data[1] != ':')
    {
        return NGX_ERROR;
    }

    return ngx_http_hotline_unhex(token, key->data + 2, NGX_HOTLINE_ID_HEX);
}


static int64_t
ngx_http_hotline_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
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
    ngx_http_hotline_relay_t  *r;

    if (!ref->has_token || ref->consumer == NULL || ref->detached) {
        handler(data, NGX_HOTLINE_E_BAD_STATE, NULL);
        return;
    }

    r = ngx_alloc(offsetof(ngx_http_hotline_relay_t, msg) + len,
                  ngx_cycle->log);
    if (r == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    ref->ops++;
    r->ref = ref;
    r->handler = handler;
    r->data = data;
    r->len = len;
    ngx_memcpy(r->msg, msg, len);

    if (ref->version == 0 || ref->state != NGX_HOTLINE_ACTIVE || ref->view
        || !ngx_queue_empty(&ref->relays))
    {
        /* no view, or one from before the call: read it first */
        ngx_queue_insert_tail(&ref->relays, &r->link);
        ngx_http_hotline_relay_view(ref);
        return;
    }

    ngx_http_hotline_relay_send(r);
}


static void
ngx_http_hotline_relay_send(ngx_http_hotline_relay_t *r)
{
    ngx_http_hotline_ref_t   *ref;
    ngx_http_hotline_txop_t  *t;
    ngx_http_hotline_txn_t    tx;

    ref = r->ref;

    if (ref->state != NGX_HOTLINE_ACTIVE) {
        ngx_http_hotline_relay_end(r, NGX_HOTLINE_E_BAD_STATE);
        return;
    }

    ngx_http_hotline_txn_init(&tx);

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_CHECK,
                                 ngx_http_hotline_pkey(ref->token));
    t->n = (int64_t) ref->version;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(ref->token));
    t->consumer = ref->consumer;

    t = ngx_http_hotline_txn_add(&tx, NGX_HOTLINE_TX_APPEND,
                                 ngx_http_hotline_pkey(ref->peer));
    t->max = ngx_http_hotline_cf->replay_buffer;
    t->err = NGX_HOTLINE_E_PEER_BACKLOG;

    /* not copied: the store takes it before commit() returns */
    t->value.data = r->msg;
    t->value.len = r->len;

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

    if (res->err == NGX_HOTLINE_E_CONFLICT && !ref->detached) {
        /*
         * the party changed: this relay and those sent after it come
         * back in order; they go again after the new view
         */
        ref->version = 0;

        ngx_queue_insert_tail(&ref->relays, &r->link);
        ngx_http_hotline_relay_view(ref);
        return;
    }

    if (res->err == NGX_HOTLINE_OK) {
        ngx_http_hotline_count_relayed();
    }

    ngx_http_hotline_relay_end(r, res->err == NGX_HOTLINE_E_CONFLICT
                                  ? NGX_HOTLINE_E_BAD_STATE : res->err);
}


static void
ngx_http_hotline_relay_end(ngx_http_hotline_relay_t *r, ngx_uint_t err)
{
    ngx_http_hotline_ref_done(r->ref);

    r->handler(r->data, err, NULL);
    ngx_free(r);
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
            ngx_free(op);
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


/* the queue and the gauges */

void
ngx_http_hotline_call_queue(ngx_http_hotline_queue_pt handler, void *data)
{
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_reads_t   rd;

    ngx_http_hotline_snap_handler = handler;
    ngx_http_hotline_snap_data = data;

    if (ngx_http_hotline_snap_busy) {
        /* one snapshot at a time; the next one follows this one */
        ngx_http_hotline_snap_again = 1;
        return;
    }

    ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

    r = &rd.ops[0];
    r->op = NGX_HOTLINE_READ_QUEUE;
    r->n = ngx_http_hotline_cf->queue_size;

    r = &rd.ops[1];
    r->op = NGX_HOTLINE_READ_COUNTERS;
    r->names = ngx_http_hotline_counter_names;
    r->n = NGX_HOTLINE_C_N;

    rd.n = 2;

    ngx_http_hotline_snap_busy = 1;
    ngx_http_hotline_st->read(&rd, ngx_http_hotline_queue_done, NULL);
}


static void
ngx_http_hotline_queue_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    int64_t                        *num;
    ngx_uint_t                      i, n;
    ngx_http_hotline_rec_t         *rec;
    ngx_http_hotline_queue_t       *snap;
    ngx_http_hotline_party_t        p;
    ngx_http_hotline_queue_item_t  *it;

    snap = &ngx_http_hotline_snap;
    ngx_http_hotline_snap_busy = 0;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_snap_again = 0;
        ngx_http_hotline_snap_handler(NULL, ngx_http_hotline_snap_data);
        return;
    }

    n = ngx_http_hotline_cf->queue_size;

    if (ngx_http_hotline_snap_size < n) {
        it = ngx_alloc(n * sizeof(ngx_http_hotline_queue_item_t),
                       ngx_cycle->log);
        if (it == NULL) {
            ngx_http_hotline_snap_handler(NULL, ngx_http_hotline_snap_data);
            return;
        }

        if (snap->items) {
            ngx_free(snap->items);
        }

        snap->items = it;
        ngx_http_hotline_snap_size = n;
    }

    num = rd->ops[1].numbers;

    snap->n = 0;
    snap->agents_online = num[NGX_HOTLINE_C_ONLINE] > 0
                          ? (ngx_uint_t) num[NGX_HOTLINE_C_ONLINE] : 0;
    snap->agents_busy = num[NGX_HOTLINE_C_BUSY] > 0
                        ? (ngx_uint_t) num[NGX_HOTLINE_C_BUSY] : 0;
    snap->avg_handle = num[NGX_HOTLINE_C_AVG] > 0
                       ? (ngx_msec_t) num[NGX_HOTLINE_C_AVG]
                       : ngx_http_hotline_cf->average_handle_time;

    for (i = 0; i < rd->ops[0].nrecs && snap->n < n; i++) {
        rec = &rd->ops[0].recs[i];

        if (rec->version == 0
            || ngx_http_hotline_party_decode(&rec->value, &p) != NGX_OK)
        {
            continue;
        }

        it = &snap->items[snap->n++];

        it->ticket = rec->ticket ? rec->ticket : p.ticket;
        ngx_memcpy(it->call_id, p.call_id, NGX_HOTLINE_ID_LEN);
        it->joined = p.joined;
        it->name_len = p.name_len;
        ngx_memcpy(it->name, p.name, p.name_len);
    }

    ngx_http_hotline_g.waiting = rd->ops[0].total;
    ngx_http_hotline_g.active = num[NGX_HOTLINE_C_ACTIVE] > 0
                                ? (ngx_uint_t) num[NGX_HOTLINE_C_ACTIVE] : 0;
    ngx_http_hotline_g.agents_online = snap->agents_online;
    ngx_http_hotline_g.agents_busy = snap->agents_busy;

    ngx_http_hotline_snap_handler(snap, ngx_http_hotline_snap_data);

    if (ngx_http_hotline_snap_again) {
        ngx_http_hotline_snap_again = 0;
        ngx_http_hotline_call_queue(ngx_http_hotline_snap_handler,
                                    ngx_http_hotline_snap_data);
    }
}


ngx_uint_t
ngx_http_hotline_call_eta(ngx_http_hotline_queue_t *q, ngx_uint_t position)
{
    ngx_uint_t  agents;

    agents = q->agents_online ? q->agents_online : 1;

    return (ngx_uint_t) ((position * q->avg_handle / agents + 999) / 1000);
}


void
ngx_http_hotline_call_gauges(ngx_http_hotline_gauges_t *g)
{
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_reads_t   rd;

    if (!ngx_http_hotline_gauges_busy && ngx_http_hotline_st) {
        ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

        r = &rd.ops[0];
        r->op = NGX_HOTLINE_READ_COUNTERS;
        r->names = ngx_http_hotline_counter_names;
        r->n = NGX_HOTLINE_C_N;
        rd.n = 1;

        ngx_http_hotline_gauges_busy = 1;
        ngx_http_hotline_st->read(&rd, ngx_http_hotline_gauges_done, NULL);
    }

    if (g) {
        *g = ngx_http_hotline_g;
    }
}


static void
ngx_http_hotline_gauges_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    int64_t  *num;

    ngx_http_hotline_gauges_busy = 0;

    if (err != NGX_HOTLINE_OK) {
        return;
    }

    num = rd->ops[0].numbers;

#define ngx_http_hotline_gauge(i)  (num[i] > 0 ? (ngx_uint_t) num[i] : 0)

    ngx_http_hotline_g.waiting = ngx_http_hotline_gauge(NGX_HOTLINE_C_WAITING);
    ngx_http_hotline_g.active = ngx_http_hotline_gauge(NGX_HOTLINE_C_ACTIVE);
    ngx_http_hotline_g.agents_online =
                                  ngx_http_hotline_gauge(NGX_HOTLINE_C_ONLINE);
    ngx_http_hotline_g.agents_busy = ngx_http_hotline_gauge(NGX_HOTLINE_C_BUSY);

#undef ngx_http_hotline_gauge
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


/*
 * Party records: a version byte, role, state, flags, end reason, the
 * token, call id
 * and peer, ticket, joined and accepted (8 bytes each, little-endian),
 * then name, display name and address, each after a length byte.
 */

#define NGX_HOTLINE_PARTY_V1       1
#define NGX_HOTLINE_PARTY_FIXED    (5 + 3 * NGX_HOTLINE_ID_LEN + 3 * 8)


static u_char *
ngx_http_hotline_put64(u_char *p, uint64_t v)
{
    ngx_uint_t  i;

    for (i = 0; i < 8; i++) {
        *p++ = (u_char) (v >> (8 * i));
    }

    return p;
}


static uint64_t
ngx_http_hotline_get64(u_char *p)
{
    uint64_t    v;
    ngx_uint_t  i;

    v = 0;

    for (i = 0; i < 8; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return v;
}


size_t
ngx_http_hotline_party_encode(u_char *buf, ngx_http_hotline_party_t *party)
{
    u_char  *p;

    p = buf;

    *p++ = NGX_HOTLINE_PARTY_V1;
    *p++ = (u_char) party->role;
    *p++ = (u_char) party->state;
    *p++ = (u_char) ((party->has_peer ? 1 : 0) | (party->recorded ? 2 : 0));
    *p++ = (u_char) party->reason;

    p = ngx_cpymem(p, party->token, NGX_HOTLINE_ID_LEN);
    p = ngx_cpymem(p, party->call_id, NGX_HOTLINE_ID_LEN);
    p = ngx_cpymem(p, party->peer, NGX_HOTLINE_ID_LEN);

    p = ngx_http_hotline_put64(p, party->ticket);
    p = ngx_http_hotline_put64(p, (uint64_t) party->joined);
    p = ngx_http_hotline_put64(p, (uint64_t) party->accepted);

    *p++ = (u_char) party->name_len;
    p = ngx_cpymem(p, party->name, party->name_len);
    *p++ = (u_char) party->display_len;
    p = ngx_cpymem(p, party->display, party->display_len);
    *p++ = (u_char) party->addr_len;
    p = ngx_cpymem(p, party->addr, party->addr_len);

    return p - buf;
}


ngx_int_t
ngx_http_hotline_party_decode(ngx_str_t *value,
    ngx_http_hotline_party_t *party)
{
    u_char  *p, *last;
    size_t   n;

    ngx_memzero(party, sizeof(ngx_http_hotline_party_t));

    p = value->data;
    last = p + value->len;

    if (value->len < NGX_HOTLINE_PARTY_FIXED + 3
        || p[0] != NGX_HOTLINE_PARTY_V1)
    {
        return NGX_ERROR;
    }

    party->role = p[1];
    party->state = p[2];
    party->has_peer = (p[3] & 1) ? 1 : 0;
    party->recorded = (p[3] & 2) ? 1 : 0;
    party->reason = p[4];
    p += 5;

    ngx_memcpy(party->token, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;
    ngx_memcpy(party->call_id, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;
    ngx_memcpy(party->peer, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;

    party->ticket = ngx_http_hotline_get64(p);
    party->joined = (int64_t) ngx_http_hotline_get64(p + 8);
    party->accepted = (int64_t) ngx_http_hotline_get64(p + 16);
    p += 24;

    n = *p++;
    if (n > NGX_HOTLINE_CUSTOMER_NAME_MAX || (size_t) (last - p) < n + 1) {
        return NGX_ERROR;
    }

    party->name_len = n;
    ngx_memcpy(party->name, p, n);
    p += n;

    n = *p++;
    if (n > NGX_HOTLINE_NAME_MAX || (size_t) (last - p) < n + 1) {
        return NGX_ERROR;
    }

    party->display_len = n;
    ngx_memcpy(party->display, p, n);
    p += n;

    n = *p++;
    if (n > NGX_SOCKADDR_STRLEN || (size_t) (last - p) != n) {
        return NGX_ERROR;
    }

    party->addr_len = n;
    ngx_memcpy(party->addr, p, n);

    if (party->role != NGX_HOTLINE_ROLE_CUSTOMER
        && party->role != NGX_HOTLINE_ROLE_AGENT)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
