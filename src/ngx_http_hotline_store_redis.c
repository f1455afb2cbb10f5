
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_alloc.h"
#include "ngx_http_hotline_desk.h"


/*
 * The Redis store: the primitives of ngx_http_hotline_store.h in one
 * Redis that the workers of many nginx nodes share.  Reads and commits
 * are scripts (ngx_http_hotline_store_redis_lua.c) that take their
 * operations as arguments; a commit with an attach fills the consumer's
 * messages from its replay (ngx_http_hotline_store_redis_cache.c).
 */


static ngx_int_t ngx_http_hotline_redis_init_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_redis_exit_worker(ngx_cycle_t *cycle);
static ngx_uint_t ngx_http_hotline_redis_up(void);
static void ngx_http_hotline_redis_stats(ngx_http_hotline_stats_t *st);
static void ngx_http_hotline_redis_read(ngx_http_hotline_reads_t *rd,
    ngx_http_hotline_read_pt handler, void *data);
static void ngx_http_hotline_redis_read_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_commit(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_commit_pt handler, void *data);
static void ngx_http_hotline_redis_commit_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_due(ngx_uint_t max, ngx_msec_t grace,
    ngx_http_hotline_due_pt handler, void *data);
static void ngx_http_hotline_redis_due_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_op(ngx_http_hotline_rreq_t *req,
    const char *code, ngx_uint_t n);
static void ngx_http_hotline_redis_kv_get(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_uint_t flags, ngx_http_hotline_kv_pt handler,
    void *data);
static void ngx_http_hotline_redis_kv_del(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_limit(ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst, ngx_http_hotline_kv_pt handler,
    void *data);
static ngx_http_hotline_rreq_t *ngx_http_hotline_redis_kv_req(
    ngx_uint_t script, ngx_uint_t args, ngx_str_t *key, size_t extra,
    ngx_http_hotline_rreq_pt done, ngx_http_hotline_kv_pt handler,
    void *data);
static void ngx_http_hotline_redis_kv_fail(ngx_http_hotline_kv_pt handler,
    void *data, ngx_uint_t err);
static ngx_http_hotline_kv_t *ngx_http_hotline_redis_kv_reply(
    ngx_http_hotline_rreq_t *req, redisReply *r);
static void ngx_http_hotline_redis_got(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_set(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_deleted(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_counted(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_limited(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_said(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_kv_attempt(ngx_str_t *secret,
    ngx_str_t *counter, ngx_str_t *lock, ngx_uint_t max, ngx_msec_t ttl,
    ngx_uint_t flags, ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_attempted(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_kv_key(ngx_http_hotline_rreq_t *req,
    ngx_str_t *key);


ngx_http_hotline_store_t  ngx_http_hotline_store_redis = {
    "redis",
    ngx_http_hotline_redis_init_worker,
    ngx_http_hotline_redis_exit_worker,
    ngx_http_hotline_redis_up,
    ngx_http_hotline_redis_stats,
    ngx_http_hotline_redis_read,
    ngx_http_hotline_redis_commit,
    ngx_http_hotline_redis_due,
    ngx_http_hotline_rcache_consumer,
    ngx_http_hotline_rcache_free,
    ngx_http_hotline_rcache_info,
    ngx_http_hotline_rcache_own,
    ngx_http_hotline_rcache_pull,
    ngx_http_hotline_rcache_read_to,
    ngx_http_hotline_redis_kv_get,
    ngx_http_hotline_redis_kv_set,
    ngx_http_hotline_redis_kv_del,
    ngx_http_hotline_redis_kv_incr,
    ngx_http_hotline_redis_limit,
    ngx_http_hotline_redis_history,
    ngx_http_hotline_redis_kv_attempt,
    NULL,                                  /* kv_notices: other nodes write */
    4,                                     /* read_share: as often as the
                                              worker reports deliveries */
    NULL                                   /* owner: Redis would be asked */
};


static ngx_http_hotline_kv_t   ngx_http_hotline_rkv;

/* what a read answers, for the time of its handler */
static ngx_http_hotline_scratch_t  ngx_http_hotline_redis_buf;


static ngx_int_t
ngx_http_hotline_redis_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_hotline_redis_erasures_start(cycle);

    return ngx_http_hotline_rworker_init(cycle);
}


static void
ngx_http_hotline_redis_exit_worker(ngx_cycle_t *cycle)
{
    if (ngx_http_hotline_rs == NULL) {
        return;
    }

    ngx_http_hotline_redis_erasures_stop();
    ngx_http_hotline_rworker_exit();

    ngx_http_hotline_scratch_free(&ngx_http_hotline_redis_buf);

    ngx_http_hotline_rs = NULL;
}


static ngx_uint_t
ngx_http_hotline_redis_up(void)
{
    return ngx_http_hotline_rconn_up();
}


static void
ngx_http_hotline_redis_stats(ngx_http_hotline_stats_t *st)
{
    st->up = ngx_http_hotline_rconn_up();

    /* the node's zone: counters and mailboxes (the state is in Redis) */
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    ngx_http_hotline_zone_usage_locked(&st->size, &st->used);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
}


/* an operation's code and the number of its arguments */

static void
ngx_http_hotline_redis_op(ngx_http_hotline_rreq_t *req, const char *code,
    ngx_uint_t n)
{
    ngx_http_hotline_rreq_arg(req, (u_char *) code, ngx_strlen(code));
    ngx_http_hotline_rreq_num(req, (int64_t) n);
}


/* reads */

static void
ngx_http_hotline_redis_read(ngx_http_hotline_reads_t *rd,
    ngx_http_hotline_read_pt handler, void *data)
{
    size_t                    size;
    ngx_uint_t                i, k, args;
    ngx_http_hotline_read_t  *r;
    ngx_http_hotline_rreq_t  *req;

    if (!ngx_http_hotline_rconn_up()) {
        handler(data, NGX_HOTLINE_E_UNAVAILABLE, rd);
        return;
    }

    args = 0;
    size = 0;

    for (i = 0; i < rd->n; i++) {
        r = &rd->ops[i];
        args += 3 + (r->op == NGX_HOTLINE_READ_COUNTERS ? r->n : 1);
        size += 2 * NGX_INT64_LEN + r->key.len;

        if (r->op == NGX_HOTLINE_READ_COUNTERS) {
            for (k = 0; k < r->n; k++) {
                size += r->names[k].len;
            }
        }
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_READ, args, size,
                                ngx_http_hotline_redis_read_done);
    if (req == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, rd);
        return;
    }

    req->handler = (void *) handler;
    req->data = data;
    req->rd = *rd;

    for (i = 0; i < rd->n; i++) {
        r = &rd->ops[i];

        switch (r->op) {

        case NGX_HOTLINE_READ_RECORD:
            ngx_http_hotline_redis_op(req, "r", 1);
            ngx_http_hotline_rreq_arg(req, r->key.data, r->key.len);
            break;

        case NGX_HOTLINE_READ_INDEX:
            ngx_http_hotline_redis_op(req, "i", 1);
            ngx_http_hotline_rreq_arg(req, r->key.data, r->key.len);
            break;

        case NGX_HOTLINE_READ_QUEUE:
            ngx_http_hotline_redis_op(req, "q", 1);
            ngx_http_hotline_rreq_num(req, (int64_t) r->n);
            break;

        case NGX_HOTLINE_READ_INBOX:
            ngx_http_hotline_redis_op(req, "l", 2);
            ngx_http_hotline_rreq_arg(req, r->key.data, r->key.len);
            ngx_http_hotline_rreq_num(req, (int64_t) r->n);
            break;

        case NGX_HOTLINE_READ_COUNTERS:
            ngx_http_hotline_redis_op(req, "n", r->n);

            for (k = 0; k < r->n; k++) {
                ngx_http_hotline_rreq_arg(req, r->names[k].data,
                                          r->names[k].len);
            }

            break;

        default: /* ticket */
            ngx_http_hotline_redis_op(req, "t", 0);
            break;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline redis: read of %ui operations", rd->n);

    ngx_http_hotline_rreq_send(req);
}


/* a record from element i of the reply: v, d, attached */

static size_t
ngx_http_hotline_redis_rec(redisReply *r, size_t i,
    ngx_http_hotline_rec_t *rec)
{
    ngx_memzero(rec, sizeof(ngx_http_hotline_rec_t));

    rec->version = (uint64_t) ngx_http_hotline_reply_int(r, i);
    rec->value = ngx_http_hotline_reply_str(r, i + 1);
    rec->attached = ngx_http_hotline_reply_int(r, i + 2) ? 1 : 0;

    return i + 3;
}


static void
ngx_http_hotline_redis_read_done(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
    u_char                    *p;
    size_t                     i, size, n;
    int64_t                    seq;
    ngx_uint_t                 k, j;
    ngx_http_hotline_read_t   *op;
    ngx_http_hotline_read_pt   handler;
    ngx_http_hotline_reads_t  *rd;

    handler = (ngx_http_hotline_read_pt) req->handler;
    rd = &req->rd;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        handler(req->data, NGX_HOTLINE_E_UNAVAILABLE, rd);
        return;
    }

    /* room for the records and numbers; values stay in the reply */

    size = 0;

    for (k = 0; k < rd->n; k++) {
        n = (rd->ops[k].op == NGX_HOTLINE_READ_INBOX) ? rd->ops[k].n / 16
                                                      : rd->ops[k].n;
        size += (n + 2) * (sizeof(ngx_http_hotline_rec_t) + sizeof(int64_t));
    }

    p = ngx_http_hotline_scratch(&ngx_http_hotline_redis_buf, size);
    if (p == NULL) {
        handler(req->data, NGX_HOTLINE_E_INTERNAL, rd);
        return;
    }

    i = 0;

    for (k = 0; k < rd->n; k++) {
        op = &rd->ops[k];
        op->nrecs = 0;
        op->total = 0;

        switch (op->op) {

        case NGX_HOTLINE_READ_RECORD:
        case NGX_HOTLINE_READ_INDEX:
            op->recs = (ngx_http_hotline_rec_t *) p;
            p += 2 * sizeof(ngx_http_hotline_rec_t);

            i = ngx_http_hotline_redis_rec(r, i, &op->recs[op->nrecs++]);

            if (op->op == NGX_HOTLINE_READ_INDEX) {
                i = ngx_http_hotline_redis_rec(r, i, &op->recs[op->nrecs++]);
            }

            break;

        case NGX_HOTLINE_READ_QUEUE:
            op->total = (ngx_uint_t) ngx_http_hotline_reply_int(r, i);
            n = (size_t) ngx_http_hotline_reply_int(r, i + 1);
            i += 2;

            op->recs = (ngx_http_hotline_rec_t *) p;
            p += (op->n + 2) * sizeof(ngx_http_hotline_rec_t);

            for (j = 0; j < n && j < op->n && i + 5 <= r->elements; j++) {
                ngx_str_t  key = ngx_http_hotline_reply_str(r, i);

                i = ngx_http_hotline_redis_rec(r, i + 1,
                                               &op->recs[op->nrecs]);
                op->recs[op->nrecs].key = key;
                op->recs[op->nrecs].ticket =
                                (uint64_t) ngx_http_hotline_reply_int(r, i);
                op->nrecs++;
                i++;
            }

            break;

        case NGX_HOTLINE_READ_INBOX:
            /* count, the first's seq, the messages */
            n = (size_t) ngx_http_hotline_reply_int(r, i);
            seq = ngx_http_hotline_reply_int(r, i + 1);
            i += 2;

            op->recs = (ngx_http_hotline_rec_t *) p;
            p += (op->n / 16 + 2) * sizeof(ngx_http_hotline_rec_t);

            for (j = 0; j < n && j < op->n / 16 + 2 && i < r->elements; j++) {
                ngx_memzero(&op->recs[j], sizeof(ngx_http_hotline_rec_t));
                op->recs[j].value = ngx_http_hotline_reply_str(r, i++);
                op->recs[j].ticket = (uint64_t) (seq + j);
                op->recs[j].version = 1;
                op->nrecs++;
            }

            break;

        case NGX_HOTLINE_READ_COUNTERS:
            op->numbers = (int64_t *) ngx_align_ptr(p, sizeof(int64_t));
            p = (u_char *) (op->numbers + op->n);

            for (j = 0; j < op->n; j++) {
                op->numbers[j] = ngx_http_hotline_reply_int(r, i++);
            }

            break;

        default: /* ticket */
            op->numbers = (int64_t *) ngx_align_ptr(p, sizeof(int64_t));
            p = (u_char *) (op->numbers + 1);
            op->numbers[0] = ngx_http_hotline_reply_int(r, i++);
            break;
        }

        p = ngx_align_ptr(p, sizeof(int64_t));
    }

    handler(req->data, NGX_HOTLINE_OK, rd);
}


/* transactions */

/*
 * The operations of a transaction as the commit script takes them: a
 * code, then the fields its arguments come from, in order: k key,
 * v value, n, m max, e err, t ttl, f force, g the consumer's generation
 * ("" for none)
 */

static const char  *ngx_http_hotline_redis_ops[] = {
    "c kn",                                /* NGX_HOTLINE_TX_CHECK */
    "o kg",                                /* NGX_HOTLINE_TX_OWNED */
    "p kv",                                /* NGX_HOTLINE_TX_PUT */
    "x k",                                 /* NGX_HOTLINE_TX_DEL */
    "q knme",                              /* NGX_HOTLINE_TX_QUEUE */
    "u k",                                 /* NGX_HOTLINE_TX_UNQUEUE */
    "n knmetf",                            /* NGX_HOTLINE_TX_COUNT */
    "a kvmfen",                            /* NGX_HOTLINE_TX_APPEND */
    "t kgn",                               /* NGX_HOTLINE_TX_ATTACH */
    "l kgn",                               /* NGX_HOTLINE_TX_RELEASE */
    "T kn",                                /* NGX_HOTLINE_TX_TIMER */
    "h ",                                  /* NGX_HOTLINE_TX_HISTORY, H */
    "N "                                   /* NGX_HOTLINE_TX_NOTIFY */
};


/*
 * A relay: check and owned of one record (by a consumer), then an append
 * to another, without force; perhaps the transcript's append after it.
 * It goes as one "R" operation, K V G K2 message max force err retry (the
 * append's arguments, as "a" has them), on the script's short path: 11
 * arguments, not 16.  The transcript's line, the message without its
 * first byte and with the one after its end, goes as K3 max X after them
 * (3 arguments, not 8 with the line again): 2 when the relay has it so,
 * 1 for a relay without it (or with another append after it), else 0.
 */

static ngx_uint_t
ngx_http_hotline_redis_relay(ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t  *c, *o, *a, *l;

    if (tx->n != 3 && tx->n != 4) {
        return 0;
    }

    c = &tx->ops[0];
    o = &tx->ops[1];
    a = &tx->ops[2];

    if (c->op != NGX_HOTLINE_TX_CHECK || o->op != NGX_HOTLINE_TX_OWNED
        || a->op != NGX_HOTLINE_TX_APPEND || o->consumer == NULL || a->force
        || c->key.len != o->key.len
        || ngx_memcmp(c->key.data, o->key.data, c->key.len) != 0)
    {
        return 0;
    }

    if (tx->n == 3) {
        return 1;
    }

    l = &tx->ops[3];

    if (l->op != NGX_HOTLINE_TX_APPEND || l->force) {
        return 0;
    }

    return (l->err == NGX_HOTLINE_OK && l->n == 0 && a->value.len
            && l->value.len == a->value.len
            && l->value.data == a->value.data + 1) ? 2 : 1;
}


static void
ngx_http_hotline_redis_commit(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_commit_pt handler, void *data)
{
    size_t                            size;
    int64_t                           retention;
    ngx_uint_t                        i, relay;
    const char                       *f;
    ngx_http_hotline_txop_t          *t;
    ngx_http_hotline_rreq_t          *req;
    u_char                           *line;
    ngx_http_hotline_txres_t          res;
    ngx_http_hotline_call_record_t   *rec;
    u_char                            id[NGX_HOTLINE_ID_HEX];

    res.err = NGX_HOTLINE_E_UNAVAILABLE;
    res.gap = 0;
    res.left = -1;

    if (!ngx_http_hotline_rconn_up()) {
        handler(data, &res);
        return;
    }

    /* a transcript's lifetime: hotline_transcript_retention, or 400 days */

    retention = (int64_t) (ngx_http_hotline_desk()->retention + 999) / 1000;

    if (retention == 0) {
        retention = 34560000;
    }

    size = 0;

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];
        size += t->key.len + t->value.len + 8 * NGX_INT64_LEN
                + (t->rec ? ngx_http_hotline_history_size(t->rec) : 0);
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_COMMIT, 14 * tx->n, size,
                                ngx_http_hotline_redis_commit_done);
    if (req == NULL) {
        res.err = NGX_HOTLINE_E_INTERNAL;
        handler(data, &res);
        return;
    }

    req->handler = (void *) handler;
    req->data = data;

    i = 0;
    relay = ngx_http_hotline_redis_relay(tx);

    if (relay) {
        /* R K V G, then the append's arguments (the loop's "a" below) */
        ngx_http_hotline_redis_op(req, "R", relay == 2 ? 12 : 9);
        ngx_http_hotline_rreq_arg(req, tx->ops[0].key.data,
                                  tx->ops[0].key.len);
        ngx_http_hotline_rreq_num(req, tx->ops[0].n);
        ngx_http_hotline_rreq_num(req, (int64_t)
                          ngx_http_hotline_rcache_gen(tx->ops[1].consumer));
        i = 2;
    }

    for ( /* void */ ; i < tx->n; i++) {
        t = &tx->ops[i];

        if (t->op == NGX_HOTLINE_TX_HISTORY) {
            /*
             * h: call_id customer agent joined accepted outcome by duration
             * recorded, the desk's members, the transcript, its
             * lifetime (s);
             * H: call_id, an amendment as the journal has it
             */
            rec = t->rec;

            ngx_http_hotline_redis_op(req, rec->amend ? "H" : "h",
                                      rec->amend ? 2 : 12);
            ngx_http_hotline_rreq_arg(req, id,
                                      ngx_http_hotline_hex(id, rec->call_id,
                                                          NGX_HOTLINE_ID_LEN)
                                      - id);

            if (rec->amend) {
                size = ngx_http_hotline_history_size(rec);

                line = ngx_alloc(size, ngx_cycle->log);
                if (line == NULL) {
                    ngx_http_hotline_rreq_arg(req, (u_char *) "", 0);
                    continue;
                }

                ngx_http_hotline_rreq_arg(req, line,
                                      ngx_http_hotline_history_json(line,
                                                          line + size, rec)
                                      - line);
                ngx_free(line);
                continue;
            }

            ngx_http_hotline_rreq_arg(req, rec->customer, rec->customer_len);
            ngx_http_hotline_rreq_arg(req, rec->agent ? rec->agent
                                                      : (u_char *) "",
                                      rec->agent_len);
            ngx_http_hotline_rreq_num(req, rec->joined);
            ngx_http_hotline_rreq_num(req, rec->accepted);
            ngx_http_hotline_rreq_arg(req,
                          ngx_http_hotline_end_reasons[rec->reason].data,
                          ngx_http_hotline_end_reasons[rec->reason].len);
            ngx_http_hotline_rreq_num(req, (int64_t) rec->by);
            ngx_http_hotline_rreq_num(req, (int64_t) rec->duration);
            ngx_http_hotline_rreq_num(req, rec->recorded ? 1 : 0);
            ngx_http_hotline_rreq_arg(req, rec->extra.data, rec->extra.len);
            ngx_http_hotline_rreq_arg(req, rec->transcript.data,
                                      rec->transcript.len);
            ngx_http_hotline_rreq_num(req, retention);
            continue;
        }

        f = ngx_http_hotline_redis_ops[t->op] + 2;

        if (relay == 2 && i == 3) {
            /* the transcript's line: K3 max X */
            ngx_http_hotline_rreq_arg(req, t->key.data, t->key.len);
            ngx_http_hotline_rreq_num(req, t->max);
            ngx_http_hotline_rreq_arg(req,
                                      t->value.data + t->value.len - 1, 1);
            continue;
        }

        if (!relay || i != 2) {
            /* (the relay's append: its arguments only, after R K V G) */
            ngx_http_hotline_rreq_arg(req, (u_char *) f - 2, 1);
            ngx_http_hotline_rreq_num(req, (int64_t) ngx_strlen(f));
        }

        for ( /* void */ ; *f; f++) {

            switch (*f) {

            case 'k':
                ngx_http_hotline_rreq_arg(req, t->key.data, t->key.len);
                break;

            case 'v':
                ngx_http_hotline_rreq_arg(req, t->value.data, t->value.len);
                break;

            case 'n':
                ngx_http_hotline_rreq_num(req, t->n);
                break;

            case 'm':
                ngx_http_hotline_rreq_num(req, t->max);
                break;

            case 'e':
                ngx_http_hotline_rreq_num(req, (int64_t) t->err);
                break;

            case 't':
                ngx_http_hotline_rreq_num(req, (int64_t) t->ttl);
                break;

            case 'f':
                ngx_http_hotline_rreq_num(req, t->force ? 1 : 0);
                break;

            default: /* 'g' */

                if (t->consumer == NULL) {
                    ngx_http_hotline_rreq_arg(req, (u_char *) "", 0);
                    break;
                }

                ngx_http_hotline_rreq_num(req, (int64_t)
                                  ngx_http_hotline_rcache_gen(t->consumer));
                break;
            }
        }

        /* the consumer's side of an attach or a release */

        if (t->op == NGX_HOTLINE_TX_ATTACH) {
            req->gen = ngx_http_hotline_rcache_gen(t->consumer);
            ngx_http_hotline_rcache_attaching(t->consumer, &t->key);

        } else if (t->op == NGX_HOTLINE_TX_RELEASE) {
            ngx_http_hotline_rcache_released(t->consumer);
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline redis: commit of %ui operations", tx->n);

    ngx_http_hotline_rreq_batch(req);
}


static void
ngx_http_hotline_redis_commit_done(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
    ngx_http_hotline_txres_t     res;
    ngx_http_hotline_commit_pt   handler;

    handler = (ngx_http_hotline_commit_pt) req->handler;

    res.err = ngx_http_hotline_reply_err(r);
    res.gap = 0;
    res.left = -1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline redis: commit answered, error %ui", res.err);

    if (req->gen) {
        /* {0, gap, first, messages...}: the attached consumer's replay */
        ngx_http_hotline_rcache_attached(req->gen,
                                         res.err == NGX_HOTLINE_OK ? r : NULL,
                                         2);
    }

    if (res.err == NGX_HOTLINE_OK) {
        /* 2: the inbox was behind the client, it goes on after it */
        res.gap = (ngx_http_hotline_reply_int(r, 1) == 1);

        /* a relay's: {0, 0, the transcript's room} (not an attach's) */
        if (req->gen == 0 && r->elements == 3
            && r->element[2]->type == REDIS_REPLY_INTEGER
            && r->element[2]->integer >= 0)
        {
            res.left = (ngx_int_t) r->element[2]->integer;
        }
    }

    /* with replicas=, once they have it */
    ngx_http_hotline_rdurable_answer(handler, req->data, &res);
}


/* timers that are due, orphans, and this worker's heartbeat */

static void
ngx_http_hotline_redis_due(ngx_uint_t max, ngx_msec_t grace,
    ngx_http_hotline_due_pt handler, void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (!ngx_http_hotline_rconn_up()) {
        handler(data, NGX_HOTLINE_E_UNAVAILABLE, NULL, 0);
        return;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_DUE, 5,
                                3 * NGX_INT64_LEN + rs->host.len
                                + rs->dead.len,
                                ngx_http_hotline_redis_due_done);
    if (req == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    req->handler = (void *) handler;
    req->data = data;

    ngx_http_hotline_rreq_num(req, (int64_t) max);
    ngx_http_hotline_rreq_num(req, (int64_t) grace);

    /* silent workers are reaped once this one has been up a while */
    ngx_http_hotline_rreq_num(req, ngx_current_msec - rs->up_since
                                   > NGX_HOTLINE_REDIS_REAP_AFTER ? 1 : 0);
    ngx_http_hotline_rreq_arg(req, rs->host.data, rs->host.len);
    ngx_http_hotline_rreq_arg(req, rs->dead.data, rs->dead.len);
    rs->dead.len = 0;

    rs->due_sent = ngx_current_msec;

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_due_done(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
    size_t                      i, n, k, max;
    ngx_uint_t                  why;
    ngx_http_hotline_due_t     *due;
    ngx_http_hotline_due_pt     handler;
    ngx_http_hotline_rstore_t  *rs;

    handler = (ngx_http_hotline_due_pt) req->handler;
    rs = ngx_http_hotline_rs;
    rs->due_sent = 0;

    if (ngx_http_hotline_reply_err(r) != NGX_HOTLINE_OK) {
        handler(req->data, NGX_HOTLINE_E_UNAVAILABLE, NULL, 0);
        return;
    }

    /* {0, quiet (n, ...), orphans (n, ...), timers (n, ...)} */

    n = (size_t) ngx_http_hotline_reply_int(r, 1);

    for (i = 2; i < 2 + n && i < r->elements; i++) {
        ngx_http_hotline_rconn_quiet(ngx_http_hotline_reply_str(r, i));
    }

    max = r->elements;

    due = (ngx_http_hotline_due_t *) ngx_http_hotline_scratch(
                                       &ngx_http_hotline_redis_buf,
                                       max * sizeof(ngx_http_hotline_due_t));
    if (due == NULL) {
        handler(req->data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    k = 0;

    for (why = NGX_HOTLINE_DUE_ORPHAN; i < r->elements; why--) {
        n = (size_t) ngx_http_hotline_reply_int(r, i++);

        for ( /* void */ ; n && i < r->elements; n--, i++) {
            due[k].key = ngx_http_hotline_reply_str(r, i);
            due[k].why = why;
            k++;
        }

        if (why == NGX_HOTLINE_DUE_TIMER) {
            break;
        }
    }

    handler(req->data, NGX_HOTLINE_OK, due, k);
}


/* keyed values */

static ngx_http_hotline_rreq_t *
ngx_http_hotline_redis_kv_req(ngx_uint_t script, ngx_uint_t args,
    ngx_str_t *key, size_t extra, ngx_http_hotline_rreq_pt done,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (key->len == 0 || key->len > NGX_HOTLINE_KV_KEY) {
        ngx_http_hotline_redis_kv_fail(handler, data, NGX_HOTLINE_E_INTERNAL);
        return NULL;
    }

    if (!ngx_http_hotline_rconn_up()) {
        ngx_http_hotline_redis_kv_fail(handler, data,
                                       NGX_HOTLINE_E_UNAVAILABLE);
        return NULL;
    }

    req = ngx_http_hotline_rreq(script, args + 2,
                                rs->conf->prefix.len + key->len + extra,
                                done);
    if (req == NULL) {
        ngx_http_hotline_redis_kv_fail(handler, data, NGX_HOTLINE_E_INTERNAL);
        return NULL;
    }

    req->handler = (void *) handler;
    req->data = data;

    if (script == NGX_HOTLINE_LUA_N) {
        /* a plain command: argv[0] is its name */
        req->argc = 1;
    }

    ngx_http_hotline_redis_kv_key(req, key);

    return req;
}


/* the full key: prefix and key */

static void
ngx_http_hotline_redis_kv_key(ngx_http_hotline_rreq_t *req, ngx_str_t *key)
{
    ngx_str_t  *prefix;

    prefix = &ngx_http_hotline_rs->conf->prefix;

    if (req->argc == req->argmax
        || prefix->len + key->len > (size_t) (req->end - req->pos))
    {
        req->overflow = 1;
        return;
    }

    req->argv[req->argc] = (char *) req->pos;
    req->argvlen[req->argc++] = prefix->len + key->len;
    req->pos = ngx_cpymem(req->pos, prefix->data, prefix->len);
    req->pos = ngx_cpymem(req->pos, key->data, key->len);
}


static void
ngx_http_hotline_redis_kv_fail(ngx_http_hotline_kv_pt handler, void *data,
    ngx_uint_t err)
{
    ngx_memzero(&ngx_http_hotline_rkv, offsetof(ngx_http_hotline_kv_t, value));
    ngx_http_hotline_rkv.len = 0;
    ngx_http_hotline_rkv.ttl = 0;
    ngx_http_hotline_rkv.retry_after = 0;

    handler(data, err, &ngx_http_hotline_rkv);
}


/* the cleared answer of a keyed value, NULL after telling the failure */

static ngx_http_hotline_kv_t *
ngx_http_hotline_redis_kv_reply(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_http_hotline_kv_t  *kv;

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        ngx_http_hotline_redis_kv_fail((ngx_http_hotline_kv_pt) req->handler,
                                       req->data, NGX_HOTLINE_E_UNAVAILABLE);
        return NULL;
    }

    kv = &ngx_http_hotline_rkv;

    ngx_memzero(kv, offsetof(ngx_http_hotline_kv_t, value));
    kv->len = 0;
    kv->ttl = 0;
    kv->retry_after = 0;

    return kv;
}


static void
ngx_http_hotline_redis_kv_value(ngx_http_hotline_kv_t *kv, ngx_str_t *v)
{
    ngx_int_t  n;

    kv->found = 1;
    kv->len = ngx_min(v->len, NGX_HOTLINE_KV_VALUE);
    ngx_memcpy(kv->value, v->data, kv->len);

    /* a counter reads as a number too */
    n = ngx_atoi(v->data, v->len);
    kv->number = (n == NGX_ERROR) ? 0 : n;
}


static void
ngx_http_hotline_redis_kv_get(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_KV_GET, 0, key, 0,
                                        ngx_http_hotline_redis_got, handler,
                                        data);
    if (req) {
        ngx_http_hotline_rreq_send(req);
    }
}


static void
ngx_http_hotline_redis_got(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    int64_t                 n;
    ngx_str_t               v;
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_ARRAY && ngx_http_hotline_reply_int(r, 0)) {
        v = ngx_http_hotline_reply_str(r, 1);
        ngx_http_hotline_redis_kv_value(kv, &v);

        n = ngx_http_hotline_reply_int(r, 2);
        kv->ttl = n > 0 ? (ngx_msec_t) n : 0;
    }

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


/* DURABLE: Redis keeps it (persistence on); NOTIFY: PUBLISH P auth */

static void
ngx_http_hotline_redis_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_uint_t flags, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (value->len > NGX_HOTLINE_KV_VALUE) {
        ngx_http_hotline_redis_kv_fail(handler, data, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_N, 5, key,
                                        value->len + 32,
                                        ngx_http_hotline_redis_set, handler,
                                        data);
    if (req == NULL) {
        return;
    }

    /* SET key value PX ttl GET: "found" is whether it existed */
    req->argv[0] = "SET";
    req->argvlen[0] = 3;
    ngx_http_hotline_rreq_arg(req, value->data, value->len);
    ngx_http_hotline_rreq_arg(req, (u_char *) "PX", 2);
    ngx_http_hotline_rreq_num(req, ttl ? ttl : 1);
    ngx_http_hotline_rreq_arg(req, (u_char *) "GET", 3);
    req->gen = ttl;

    ngx_http_hotline_rreq_send(req);

    if (!(flags & NGX_HOTLINE_KV_NOTIFY) || !ngx_http_hotline_rconn_up()) {
        return;
    }

    /* after the SET on the same connection */
    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_N, 3, rs->achannel.len + 8,
                                ngx_http_hotline_redis_said);
    if (req == NULL) {
        return;
    }

    req->argv[0] = "PUBLISH";
    req->argvlen[0] = 7;
    req->argc = 1;
    ngx_http_hotline_rreq_arg(req, rs->achannel.data, rs->achannel.len);
    ngx_http_hotline_rreq_arg(req, (u_char *) "1", 1);
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_set(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    kv->found = (r->type == REDIS_REPLY_STRING);
    kv->ttl = (ngx_msec_t) req->gen;

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


static void
ngx_http_hotline_redis_kv_del(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_N, 0, key, 0,
                                        ngx_http_hotline_redis_deleted,
                                        handler, data);
    if (req == NULL) {
        return;
    }

    /* GETDEL: atomic, so of two deletes one finds it */
    req->argv[0] = "GETDEL";
    req->argvlen[0] = 6;

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_deleted(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_str_t               v;
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_STRING) {
        v.data = (u_char *) r->str;
        v.len = r->len;
        ngx_http_hotline_redis_kv_value(kv, &v);
    }

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


static void
ngx_http_hotline_redis_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_KV_INCR, 1, key, 32,
                                        ngx_http_hotline_redis_counted,
                                        handler, data);
    if (req) {
        ngx_http_hotline_rreq_num(req, ttl ? ttl : 1);
        ngx_http_hotline_rreq_send(req);
    }
}


static void
ngx_http_hotline_redis_counted(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    int64_t                 n;
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    kv->found = 1;
    kv->number = ngx_http_hotline_reply_int(r, 0);
    n = ngx_http_hotline_reply_int(r, 1);
    kv->ttl = n > 0 ? (ngx_msec_t) n : 0;

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


static void
ngx_http_hotline_redis_limit(ngx_str_t *key, ngx_msec_t interval,
    ngx_uint_t burst, ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_LIMIT, 2, key, 64,
                                        ngx_http_hotline_redis_limited,
                                        handler, data);
    if (req) {
        ngx_http_hotline_rreq_num(req, interval ? interval : 1);
        ngx_http_hotline_rreq_num(req, burst);
        ngx_http_hotline_rreq_send(req);
    }
}


static void
ngx_http_hotline_redis_limited(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    kv->retry_after = (ngx_msec_t) ngx_http_hotline_reply_int(r, 1);
    kv->number = ngx_http_hotline_reply_int(r, 2);
    kv->found = ngx_http_hotline_reply_int(r, 0) ? 1 : 0;

    if (kv->retry_after) {
        ngx_http_hotline_count_limited();
    }

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


/* one bounded attempt at a secret: a script of three keys */

static void
ngx_http_hotline_redis_kv_attempt(ngx_str_t *secret, ngx_str_t *counter,
    ngx_str_t *lock, ngx_uint_t max, ngx_msec_t ttl, ngx_uint_t flags,
    ngx_http_hotline_kv_pt handler, void *data)
{
    size_t                    extra;
    ngx_http_hotline_rreq_t  *req;

    if (counter->len == 0 || counter->len > NGX_HOTLINE_KV_KEY
        || lock->len == 0 || lock->len > NGX_HOTLINE_KV_KEY)
    {
        ngx_http_hotline_redis_kv_fail(handler, data, NGX_HOTLINE_E_INTERNAL);
        return;
    }

    extra = 2 * ngx_http_hotline_rs->conf->prefix.len + counter->len
            + lock->len + 2 * NGX_INT64_LEN;

    req = ngx_http_hotline_redis_kv_req(NGX_HOTLINE_LUA_KV_ATTEMPT, 4, secret,
                                        extra, ngx_http_hotline_redis_attempted,
                                        handler, data);
    if (req == NULL) {
        return;
    }

    req->argv[2] = "3";
    ngx_http_hotline_redis_kv_key(req, counter);
    ngx_http_hotline_redis_kv_key(req, lock);
    ngx_http_hotline_rreq_num(req, max);
    ngx_http_hotline_rreq_num(req, ttl ? ttl : 1);

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_attempted(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_str_t               v;
    ngx_http_hotline_kv_t  *kv;

    kv = ngx_http_hotline_redis_kv_reply(req, r);
    if (kv == NULL) {
        return;
    }

    kv->retry_after = (ngx_msec_t) ngx_http_hotline_reply_int(r, 0);

    if (kv->retry_after == 0 && ngx_http_hotline_reply_int(r, 2) == 1) {
        v = ngx_http_hotline_reply_str(r, 3);
        ngx_http_hotline_redis_kv_value(kv, &v);
    }

    /* (the value is no number) */
    kv->number = ngx_http_hotline_reply_int(r, 1);

    ((ngx_http_hotline_kv_pt) req->handler)(req->data, NGX_HOTLINE_OK, kv);
}


static void
ngx_http_hotline_redis_said(ngx_http_hotline_rreq_t *req, redisReply *r)
{
}
