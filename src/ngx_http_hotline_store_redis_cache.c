
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * Consumers of this worker: each holds the messages of its inbox that
 * reached the worker and were not pulled yet, strictly in sequence.
 * Messages come by pub/sub as they are appended, and by a replay (the
 * attach) or a catch-up (sync) read from the inbox itself; one that
 * comes early (a gap: the subscriber was away, or the attach's replay is
 * still on its way) waits until the messages before it are there, and a
 * gap that nothing fills makes the consumer read the inbox again from
 * the last message it holds in order.  So every message is handed over
 * once and in order, whatever the connections did.  With replicas=, a
 * message is handed over once the replicas have it (the barrier it
 * carries, ngx_http_hotline_store_redis_durable.c).
 */


typedef struct {
    ngx_queue_t                    link;
    uint64_t                       seq;
    ngx_uint_t                     barrier;      /* replicas have it after */
    size_t                         len;
    u_char                         data[1];
} ngx_http_hotline_rmsg_t;


struct ngx_http_hotline_consumer_s {
    ngx_rbtree_node_t              node;         /* key: gen */
    ngx_queue_t                    link;         /* all of them */
    ngx_queue_t                    ready;        /* news to tell */
    ngx_queue_t                    holding;      /* waits for replicas */
    void                          *data;
    ngx_uint_t                     wake;
    uint64_t                       next;         /* the seq due next */
    uint64_t                       delivered;
    uint64_t                       replayed;     /* a replay's end */
    size_t                         unreported;   /* pulled, Redis not told */
    uint64_t                       read;         /* the client read to */
    ngx_queue_t                    msgs;         /* in order, from next */
    size_t                         bytes;
    ngx_queue_t                    ahead;        /* after a gap, by seq */
    size_t                         key_len;      /* 0: no inbox */
    u_char                         key[NGX_HOTLINE_KEY_MAX];
    unsigned                       is_ready:1;
    unsigned                       is_holding:1;
    unsigned                       attaching:1;  /* hold what comes */
    unsigned                       syncing:1;
    unsigned                       replaced:1;
    unsigned                       lost:1;
};


typedef struct {
    ngx_rbtree_t                   tree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    all;
    ngx_queue_t                    ready;
    ngx_queue_t                    holding;      /* for the replicas */
    ngx_event_t                    ready_ev;
    uint64_t                       next_gen;
} ngx_http_hotline_rcache_t;


static ngx_http_hotline_consumer_t *ngx_http_hotline_rcache_find(
    uint64_t gen);
static void ngx_http_hotline_rcache_add(ngx_http_hotline_consumer_t *c,
    uint64_t seq, u_char *data, size_t len, ngx_uint_t slow);
static void ngx_http_hotline_rcache_take(ngx_http_hotline_consumer_t *c,
    ngx_http_hotline_rmsg_t *m);
static ngx_uint_t ngx_http_hotline_rcache_drain(
    ngx_http_hotline_consumer_t *c);
static void ngx_http_hotline_rcache_sync(ngx_http_hotline_consumer_t *c);
static void ngx_http_hotline_rcache_synced(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_rcache_backlog(ngx_http_hotline_consumer_t *c,
    redisReply *r, size_t i);
static void ngx_http_hotline_rcache_behind(ngx_http_hotline_consumer_t *c,
    redisReply *r, size_t i);
static void ngx_http_hotline_rcache_gap(ngx_http_hotline_consumer_t *c,
    uint64_t first, uint64_t last);
static void ngx_http_hotline_rcache_report(ngx_http_hotline_consumer_t *c,
    uint64_t seq, ngx_uint_t read);
static void ngx_http_hotline_rcache_reported(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_rcache_tell(ngx_http_hotline_consumer_t *c,
    ngx_uint_t wake);
static void ngx_http_hotline_rcache_ready(ngx_event_t *ev);
static void ngx_http_hotline_rcache_clear(ngx_queue_t *q);


static ngx_http_hotline_rcache_t  *ngx_http_hotline_rc;


ngx_int_t
ngx_http_hotline_rcache_init(ngx_cycle_t *cycle)
{
    ngx_http_hotline_rcache_t  *rc;

    rc = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hotline_rcache_t));
    if (rc == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&rc->tree, &rc->sentinel, ngx_rbtree_insert_value);
    ngx_queue_init(&rc->all);
    ngx_queue_init(&rc->ready);
    ngx_queue_init(&rc->holding);

    rc->ready_ev.handler = ngx_http_hotline_rcache_ready;
    rc->ready_ev.log = cycle->log;
    rc->ready_ev.data = rc;

    ngx_http_hotline_rc = rc;

    return NGX_OK;
}


void
ngx_http_hotline_rcache_exit(void)
{
    ngx_queue_t                  *q;
    ngx_http_hotline_rcache_t    *rc;
    ngx_http_hotline_consumer_t  *c;

    rc = ngx_http_hotline_rc;

    if (rc == NULL) {
        return;
    }

    if (rc->ready_ev.posted) {
        ngx_delete_posted_event(&rc->ready_ev);
    }

    while (!ngx_queue_empty(&rc->all)) {
        q = ngx_queue_head(&rc->all);
        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, link);
        ngx_http_hotline_rcache_free(c);
    }

    ngx_http_hotline_rc = NULL;
}


ngx_http_hotline_consumer_t *
ngx_http_hotline_rcache_consumer(void *data)
{
    ngx_http_hotline_rcache_t    *rc;
    ngx_http_hotline_consumer_t  *c;

    rc = ngx_http_hotline_rc;

    c = ngx_calloc(sizeof(ngx_http_hotline_consumer_t), ngx_cycle->log);
    if (c == NULL) {
        return NULL;
    }

    c->data = data;
    c->node.key = (ngx_rbtree_key_t) ++rc->next_gen;
    c->next = 1;
    ngx_queue_init(&c->msgs);
    ngx_queue_init(&c->ahead);

    ngx_rbtree_insert(&rc->tree, &c->node);
    ngx_queue_insert_tail(&rc->all, &c->link);

    return c;
}


void
ngx_http_hotline_rcache_free(ngx_http_hotline_consumer_t *c)
{
    ngx_http_hotline_rcache_t  *rc;

    rc = ngx_http_hotline_rc;

    ngx_rbtree_delete(&rc->tree, &c->node);
    ngx_queue_remove(&c->link);

    if (c->is_ready) {
        ngx_queue_remove(&c->ready);
    }

    if (c->is_holding) {
        ngx_queue_remove(&c->holding);
    }

    ngx_http_hotline_rcache_clear(&c->msgs);
    ngx_http_hotline_rcache_clear(&c->ahead);

    ngx_free(c);
}


void
ngx_http_hotline_rcache_own(ngx_http_hotline_consumer_t *c, void *data)
{
    c->data = data;

    if (data == NULL && c->is_ready) {
        /* nobody to tell: what it has waits for the next owner's pull */
        c->is_ready = 0;
        ngx_queue_remove(&c->ready);
    }
}


uint64_t
ngx_http_hotline_rcache_gen(ngx_http_hotline_consumer_t *c)
{
    return (uint64_t) c->node.key;
}


void
ngx_http_hotline_rcache_info(ngx_http_hotline_consumer_t *c,
    ngx_http_hotline_consumer_info_t *ci)
{
    ci->last = c->next - 1;
    ci->delivered = c->delivered;
    ci->replayed = c->replayed;
    ci->unread = c->bytes;
}


/* an attach of this consumer goes to Redis: what comes waits for it */

void
ngx_http_hotline_rcache_attaching(ngx_http_hotline_consumer_t *c,
    ngx_str_t *key)
{
    c->key_len = ngx_min(key->len, NGX_HOTLINE_KEY_MAX);
    ngx_memcpy(c->key, key->data, c->key_len);
    c->attaching = 1;
}


/*
 * The attach's answer (r NULL: it did not happen): from element i, the
 * first seq replayed and the messages; what came early is added after.
 */

void
ngx_http_hotline_rcache_attached(uint64_t gen, redisReply *r, size_t i)
{
    uint64_t                      first;
    ngx_http_hotline_consumer_t  *c;

    c = ngx_http_hotline_rcache_find(gen);

    if (c == NULL || !c->attaching) {
        return;
    }

    c->attaching = 0;

    if (r == NULL) {
        ngx_http_hotline_rcache_clear(&c->ahead);
        return;
    }

    /* a new replay: what was held before goes */

    ngx_http_hotline_rcache_clear(&c->msgs);
    c->bytes = 0;
    c->replaced = 0;
    c->lost = 0;

    first = (uint64_t) ngx_http_hotline_reply_int(r, i);
    c->next = first ? first : 1;
    c->delivered = c->next - 1;
    c->read = c->delivered;

    ngx_http_hotline_rcache_behind(c, r, i - 1);
    ngx_http_hotline_rcache_backlog(c, r, i);

    c->replayed = c->next - 1;

    /* messages published after the attach, in order */

    if (ngx_http_hotline_rcache_drain(c)) {
        /* a gap: more was appended than came; read it */
        ngx_http_hotline_rcache_sync(c);
    }

    if (!ngx_queue_empty(&c->msgs)) {
        ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_DELIVER);
    }
}


/* element i: the first seq, then the messages from it */

static void
ngx_http_hotline_rcache_backlog(ngx_http_hotline_consumer_t *c,
    redisReply *r, size_t i)
{
    size_t     k;
    uint64_t   first;
    ngx_str_t  msg;

    first = (uint64_t) ngx_http_hotline_reply_int(r, i);

    for (k = i + 1; k < r->elements; k++) {
        msg = ngx_http_hotline_reply_str(r, k);
        ngx_http_hotline_rcache_add(c, first + (k - i - 1), msg.data,
                                    msg.len, 0);
    }
}


/*
 * element i, the gap flag, says 2: the inbox was behind what this consumer
 * has (Redis lost writes); it was numbered on after it
 */

static void
ngx_http_hotline_rcache_behind(ngx_http_hotline_consumer_t *c,
    redisReply *r, size_t i)
{
    if (ngx_http_hotline_reply_int(r, i) != 2) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "hotline: the inbox of \"%*s\" in redis ended before "
                  "seq %uL that its consumer has: redis went back in time "
                  "(a restart without its latest writes, a restore, a "
                  "failover), messages go on after it",
                  c->key_len, c->key, c->next - 1);
}


/* a record that tells the messages from first to last are gone */

static void
ngx_http_hotline_rcache_gap(ngx_http_hotline_consumer_t *c, uint64_t first,
    uint64_t last)
{
    u_char                   *p;
    ngx_http_hotline_rmsg_t  *m;

    m = ngx_alloc(offsetof(ngx_http_hotline_rmsg_t, data)
                  + NGX_HOTLINE_GAP_LEN, ngx_cycle->log);
    if (m == NULL) {
        c->next = last + 1;
        return;
    }

    m->seq = last;
    m->len = NGX_HOTLINE_GAP_LEN;

    p = m->data;
    *p++ = NGX_HOTLINE_GAP;
    p = ngx_cpymem(p, &first, sizeof(uint64_t));
    ngx_memcpy(p, &last, sizeof(uint64_t));

    ngx_http_hotline_rcache_take(c, m);
}


void
ngx_http_hotline_rcache_released(ngx_http_hotline_consumer_t *c)
{
    c->key_len = 0;
    ngx_http_hotline_rcache_clear(&c->ahead);
}


/*
 * "m<gen>:<seq>:<s|->:<message>" or "r<gen>" from the worker's channel,
 * or several of them published at once: "b<len>:<one><len>:<one>..."
 */

void
ngx_http_hotline_rcache_message(ngx_str_t *payload)
{
    u_char                       *p, *last;
    size_t                        len;
    uint64_t                      gen, seq;
    ngx_str_t                     one;
    ngx_uint_t                    slow;
    ngx_http_hotline_consumer_t  *c;

    if (payload->len < 2) {
        return;
    }

    if (payload->data[0] == 'b') {
        p = payload->data + 1;
        last = payload->data + payload->len;

        while (p < last) {
            for (len = 0; p < last && *p >= '0' && *p <= '9'; p++) {
                len = len * 10 + (*p - '0');

                if (len > payload->len) {
                    break;
                }
            }

            if (p == last || *p++ != ':' || len > (size_t) (last - p)
                || len == 0 || *p == 'b')
            {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "hotline: redis: a bad batch on the channel");
                return;
            }

            one.data = p;
            one.len = len;
            p += len;

            ngx_http_hotline_rcache_message(&one);
        }

        return;
    }

    p = payload->data + 1;
    last = payload->data + payload->len;

    for (gen = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        gen = gen * 10 + (*p - '0');
    }

    c = ngx_http_hotline_rcache_find(gen);

    if (c == NULL) {
        /* a consumer that this worker let go */
        return;
    }

    if (payload->data[0] == 'r') {
        c->replaced = 1;
        ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_REPLACED);
        return;
    }

    if (payload->data[0] != 'm' || p == last || *p != ':') {
        return;
    }

    for (seq = 0, p++; p < last && *p >= '0' && *p <= '9'; p++) {
        seq = seq * 10 + (*p - '0');
    }

    if (last - p < 3 || p[0] != ':' || p[2] != ':') {
        return;
    }

    slow = (p[1] == 's');
    p += 3;

    ngx_http_hotline_rcache_add(c, seq, p, last - p, slow);
}


/* keeps a message in order, once */

static void
ngx_http_hotline_rcache_add(ngx_http_hotline_consumer_t *c, uint64_t seq,
    u_char *data, size_t len, ngx_uint_t slow)
{
    ngx_queue_t              *q;
    ngx_http_hotline_rmsg_t  *m, *prev;

    if (seq < c->next || c->replaced || c->lost) {
        return;
    }

    m = ngx_alloc(offsetof(ngx_http_hotline_rmsg_t, data) + len,
                  ngx_cycle->log);
    if (m == NULL) {
        return;
    }

    m->seq = seq;
    m->len = len;
    ngx_memcpy(m->data, data, len);

    if (seq > c->next || c->attaching || c->syncing) {

        /* early: it waits, in order, for the messages before it */

        for (q = ngx_queue_last(&c->ahead);
             q != ngx_queue_sentinel(&c->ahead);
             q = ngx_queue_prev(q))
        {
            prev = ngx_queue_data(q, ngx_http_hotline_rmsg_t, link);

            if (prev->seq == seq) {
                ngx_free(m);
                return;
            }

            if (prev->seq < seq) {
                break;
            }
        }

        ngx_queue_insert_after(q, &m->link);

        if (!c->attaching && !c->syncing && c->key_len) {
            ngx_http_hotline_rcache_sync(c);
        }

        return;
    }

    ngx_http_hotline_rcache_take(c, m);

    /* what waited behind it */
    (void) ngx_http_hotline_rcache_drain(c);

    ngx_http_hotline_rcache_tell(c, slow ? NGX_HOTLINE_WAKE_SLOW
                                         : NGX_HOTLINE_WAKE_DELIVER);
}


static void
ngx_http_hotline_rcache_take(ngx_http_hotline_consumer_t *c,
    ngx_http_hotline_rmsg_t *m)
{
    ngx_queue_insert_tail(&c->msgs, &m->link);
    c->bytes += m->len;
    c->next = m->seq + 1;

    /* with replicas=: handed over once they have it */

    m->barrier = ngx_http_hotline_rdurable_next();

    if (m->barrier && !c->is_holding) {
        c->is_holding = 1;
        ngx_queue_insert_tail(&ngx_http_hotline_rc->holding, &c->holding);
    }
}


/* the replicas have more: consumers hand over what waited for them */

void
ngx_http_hotline_rcache_durable(void)
{
    ngx_queue_t                  *q, *next;
    ngx_http_hotline_rmsg_t      *m;
    ngx_http_hotline_consumer_t  *c;

    if (ngx_http_hotline_rc == NULL) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_hotline_rc->holding);
         q != ngx_queue_sentinel(&ngx_http_hotline_rc->holding);
         q = next)
    {
        next = ngx_queue_next(q);
        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, holding);

        if (!ngx_queue_empty(&c->msgs)) {
            ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_DELIVER);

            m = ngx_queue_data(ngx_queue_last(&c->msgs),
                               ngx_http_hotline_rmsg_t, link);

            if (ngx_http_hotline_rdurable_waits(m->barrier)) {
                /* some go now, more later */
                continue;
            }
        }

        ngx_queue_remove(q);
        c->is_holding = 0;
    }
}


/*
 * The connection is lost before the replicas said they have what waits:
 * it is let go and read again from the master that comes next (which
 * may not have it); what came early goes too.
 */

void
ngx_http_hotline_rcache_unheld(void)
{
    ngx_queue_t                  *q, *last;
    ngx_http_hotline_rmsg_t      *m;
    ngx_http_hotline_consumer_t  *c;

    if (ngx_http_hotline_rc == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_hotline_rc->holding)) {
        q = ngx_queue_head(&ngx_http_hotline_rc->holding);
        ngx_queue_remove(q);

        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, holding);
        c->is_holding = 0;

        while (!ngx_queue_empty(&c->msgs)) {
            last = ngx_queue_last(&c->msgs);
            m = ngx_queue_data(last, ngx_http_hotline_rmsg_t, link);

            if (!ngx_http_hotline_rdurable_waits(m->barrier)) {
                break;
            }

            ngx_queue_remove(last);
            c->bytes -= m->len;
            c->next = m->seq;

            if (m->len == NGX_HOTLINE_GAP_LEN && m->data[0] == NGX_HOTLINE_GAP)
            {
                /* a gap stands for the messages from its first */
                ngx_memcpy(&c->next, m->data + 1, sizeof(uint64_t));
            }

            ngx_free(m);
        }

        ngx_http_hotline_rcache_clear(&c->ahead);
    }
}


/*
 * What waited (ahead) and is next now joins the messages in order:
 * whether a gap is left before the rest
 */

static ngx_uint_t
ngx_http_hotline_rcache_drain(ngx_http_hotline_consumer_t *c)
{
    ngx_queue_t              *q;
    ngx_http_hotline_rmsg_t  *m;

    while (!ngx_queue_empty(&c->ahead)) {
        q = ngx_queue_head(&c->ahead);
        m = ngx_queue_data(q, ngx_http_hotline_rmsg_t, link);

        if (m->seq > c->next) {
            return 1;
        }

        ngx_queue_remove(q);

        if (m->seq < c->next) {
            ngx_free(m);
            continue;
        }

        ngx_http_hotline_rcache_take(c, m);
    }

    return 0;
}


/* reads the inbox from the last message held in order */

static void
ngx_http_hotline_rcache_sync(ngx_http_hotline_consumer_t *c)
{
    ngx_http_hotline_rreq_t  *req;

    if (c->syncing || c->key_len == 0 || !ngx_http_hotline_rconn_up()) {
        return;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_SYNC, 3,
                                c->key_len + 2 * NGX_INT64_LEN,
                                ngx_http_hotline_rcache_synced);
    if (req == NULL) {
        return;
    }

    req->gen = (uint64_t) c->node.key;

    ngx_http_hotline_rreq_arg(req, c->key, c->key_len);
    ngx_http_hotline_rreq_num(req, (int64_t) req->gen);
    ngx_http_hotline_rreq_num(req, (int64_t) (c->next - 1));

    c->syncing = 1;

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_rcache_synced(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    uint64_t                      first;
    ngx_uint_t                    err;
    ngx_http_hotline_consumer_t  *c;

    c = ngx_http_hotline_rcache_find(req->gen);

    if (c == NULL) {
        return;
    }

    c->syncing = 0;

    err = ngx_http_hotline_reply_err(r);

    if (err == NGX_HOTLINE_E_EXPIRED) {
        /* Redis lost the record (restarted without its data) */
        c->lost = 1;
        ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_LOST);
        return;
    }

    if (err == NGX_HOTLINE_E_BAD_STATE) {
        c->replaced = 1;
        ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_REPLACED);
        return;
    }

    if (err != NGX_HOTLINE_OK || c->attaching) {
        /* Redis went away: again when it is back */
        return;
    }

    /* {0, gap, first, messages...} */

    first = (uint64_t) ngx_http_hotline_reply_int(r, 2);

    if (ngx_http_hotline_reply_int(r, 1) == 1 && first > c->next) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hotline: messages %uL to %uL of \"%*s\" are no "
                      "longer kept, its client is told",
                      c->next, first - 1, c->key_len, c->key);

        /* the client is told, in order, where they were */
        ngx_http_hotline_rcache_gap(c, c->next, first - 1);
    }

    ngx_http_hotline_rcache_behind(c, r, 1);
    ngx_http_hotline_rcache_backlog(c, r, 2);

    /* what waited for the read */

    if (ngx_http_hotline_rcache_drain(c)) {
        ngx_http_hotline_rcache_sync(c);
    }

    if (!ngx_queue_empty(&c->msgs)) {
        ngx_http_hotline_rcache_tell(c, NGX_HOTLINE_WAKE_DELIVER);
    }
}


/* Redis is back: every consumer reads what it missed meanwhile */

void
ngx_http_hotline_rcache_resync(void)
{
    ngx_queue_t                  *q;
    ngx_http_hotline_consumer_t  *c;

    if (ngx_http_hotline_rc == NULL) {
        return;
    }

    for (q = ngx_queue_head(&ngx_http_hotline_rc->all);
         q != ngx_queue_sentinel(&ngx_http_hotline_rc->all);
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, link);

        c->syncing = 0;

        if (c->key_len && !c->attaching && !c->replaced && !c->lost) {
            ngx_http_hotline_rcache_sync(c);
        }
    }
}


ssize_t
ngx_http_hotline_rcache_pull(ngx_http_hotline_consumer_t *c, u_char *buf,
    size_t size, size_t budget)
{
    u_char                   *pos;
    size_t                    need, bytes;
    ngx_queue_t              *q;
    ngx_http_hotline_rmsg_t  *m;

    if (c->replaced) {
        return NGX_ERROR;
    }

    pos = buf;
    bytes = 0;

    while (!ngx_queue_empty(&c->msgs)) {
        q = ngx_queue_head(&c->msgs);
        m = ngx_queue_data(q, ngx_http_hotline_rmsg_t, link);

        if (ngx_http_hotline_rdurable_waits(m->barrier)) {
            /* until the replicas have it */
            break;
        }

        need = ngx_align(sizeof(uint64_t) + sizeof(uint32_t) + m->len, 8);

        if (pos != buf
            && ((size_t) (buf + size - pos) < need || bytes + m->len > budget))
        {
            break;
        }

        ngx_queue_remove(q);
        c->bytes -= m->len;
        c->delivered = m->seq;

        if ((size_t) (buf + size - pos) < need) {
            /* not reached: buf has room for the largest message */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: message of %uz bytes does not fit",
                          m->len);
            ngx_free(m);
            continue;
        }

        bytes += m->len;

        ngx_memcpy(pos, &m->seq, sizeof(uint64_t));
        *(uint32_t *) (pos + sizeof(uint64_t)) = (uint32_t) m->len;
        ngx_memcpy(pos + sizeof(uint64_t) + sizeof(uint32_t), m->data,
                   m->len);
        pos += need;

        ngx_free(m);
    }

    /*
     * Redis makes room for new messages by dropping what was delivered:
     * it is told every quarter of the replay buffer
     */

    c->unreported += bytes;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline redis: pulled %uz bytes, to seq %uL",
                   (size_t) (pos - buf), c->delivered);

    if (c->unreported >= ngx_http_hotline_rs->hmcf->replay_buffer / 4) {
        ngx_http_hotline_rcache_report(c, c->delivered, 0);
    }

    return pos - buf;
}


/*
 * The client read the messages up to seq (it answered a ping sent after
 * them): Redis forgets them, as the embedded store does, so that a
 * replay from scratch starts at the same place on both stores.
 */

void
ngx_http_hotline_rcache_read_to(ngx_http_hotline_consumer_t *c, uint64_t seq)
{
    if (seq > c->delivered) {
        seq = c->delivered;
    }

    if (seq <= c->read) {
        return;
    }

    c->read = seq;

    ngx_http_hotline_rcache_report(c, seq, 1);
}


/* Redis is told what was delivered (read: and read by the client) */

static void
ngx_http_hotline_rcache_report(ngx_http_hotline_consumer_t *c, uint64_t seq,
    ngx_uint_t read)
{
    ngx_http_hotline_rreq_t  *req;

    c->unreported = 0;

    if (c->key_len == 0) {
        return;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_DELIVERED, read ? 4 : 3,
                                c->key_len + 2 * NGX_INT64_LEN + 1,
                                ngx_http_hotline_rcache_reported);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, c->key, c->key_len);
    ngx_http_hotline_rreq_num(req, (int64_t) c->node.key);
    ngx_http_hotline_rreq_num(req, (int64_t) seq);

    if (read) {
        ngx_http_hotline_rreq_arg(req, (u_char *) "r", 1);
    }

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_rcache_reported(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
}


/* news for a consumer, told after the current event (never re-entered) */

static void
ngx_http_hotline_rcache_tell(ngx_http_hotline_consumer_t *c,
    ngx_uint_t wake)
{
    ngx_http_hotline_rcache_t  *rc;

    rc = ngx_http_hotline_rc;

    if (c->data == NULL) {
        /* muted: its connection is gone */
        return;
    }

    /* the strongest news wins: replaced, lost, slow, deliver */

    if (!c->is_ready) {
        c->is_ready = 1;
        c->wake = wake;
        ngx_queue_insert_tail(&rc->ready, &c->ready);

    } else if (wake == NGX_HOTLINE_WAKE_REPLACED
               || (wake == NGX_HOTLINE_WAKE_LOST
                   && c->wake != NGX_HOTLINE_WAKE_REPLACED)
               || (wake == NGX_HOTLINE_WAKE_SLOW
                   && c->wake == NGX_HOTLINE_WAKE_DELIVER))
    {
        c->wake = wake;
    }

    if (!rc->ready_ev.posted) {
        ngx_post_event(&rc->ready_ev, &ngx_posted_events);
    }
}


static void
ngx_http_hotline_rcache_ready(ngx_event_t *ev)
{
    ngx_queue_t                  *q;
    ngx_http_hotline_rcache_t    *rc;
    ngx_http_hotline_consumer_t  *c;

    rc = ev->data;

    while (!ngx_queue_empty(&rc->ready)) {
        q = ngx_queue_head(&rc->ready);
        ngx_queue_remove(q);

        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, ready);
        c->is_ready = 0;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "hotline redis: a consumer is told %ui", c->wake);

        ngx_http_hotline_store_events->consumer(c->data, c->wake);
    }
}


static ngx_http_hotline_consumer_t *
ngx_http_hotline_rcache_find(uint64_t gen)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    if (ngx_http_hotline_rc == NULL) {
        return NULL;
    }

    key = (ngx_rbtree_key_t) gen;
    node = ngx_http_hotline_rc->tree.root;
    sentinel = ngx_http_hotline_rc->tree.sentinel;

    while (node != sentinel) {
        if (key == node->key) {
            return (ngx_http_hotline_consumer_t *) node;
        }

        node = (key < node->key) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_hotline_rcache_clear(ngx_queue_t *q)
{
    ngx_queue_t  *h;

    while (!ngx_queue_empty(q)) {
        h = ngx_queue_head(q);
        ngx_queue_remove(h);
        ngx_free(ngx_queue_data(h, ngx_http_hotline_rmsg_t, link));
    }
}
