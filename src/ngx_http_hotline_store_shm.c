
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_alloc.h"
#include "ngx_http_hotline_store_shm.h"
#include "ngx_http_hotline_store_shm_objs.h"
#include "ngx_http_hotline_store_shm_handoff.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"


/*
 * The embedded store: the primitives in the node's shared-memory zone,
 * one slab mutex around every operation (no system call runs under it;
 * wake-ups are sent after unlocking).  Records, counters and the queue
 * are objects in one tree by key; an object may have an inbox.  A
 * transaction allocates all it needs before it changes anything, so it
 * either happens whole or not at all.
 */


#define NGX_HOTLINE_SHM_BATCH      256


struct ngx_http_hotline_consumer_s {
    ngx_queue_t                    link;       /* this worker's */
    void                          *data;
    ngx_http_hotline_shm_inbox_t  *inbox;      /* NULL: none */
    uint64_t                       gen;
};


/* what a transaction's op needs, allocated before anything changes */
typedef struct {
    ngx_http_hotline_shm_obj_t    *found;      /* its key's, at check() */
    ngx_http_hotline_shm_obj_t    *obj;
    void                          *mem;
    ngx_http_hotline_shm_inbox_t  *inbox;      /* append: a new inbox */
    ngx_http_hotline_shm_slot_t   *slots;      /* append: a larger ring */
    uint32_t                       nslots;
    ngx_http_hotline_shm_ext_t    *ext;        /* queue, timer, count: for
                                                  an object without one */
    ngx_uint_t                     skip;       /* append: no room, left out */
} ngx_http_hotline_shm_prep_t;


static ngx_int_t ngx_http_hotline_shm_init_worker(ngx_cycle_t *cycle);
static ngx_uint_t ngx_http_hotline_shm_up(void);
static void ngx_http_hotline_shm_exit_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_shm_stats(ngx_http_hotline_stats_t *st);
static void ngx_http_hotline_shm_read(ngx_http_hotline_reads_t *rd,
    ngx_http_hotline_read_pt handler, void *data);
static void ngx_http_hotline_shm_commit(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_commit_pt handler, void *data);
static void ngx_http_hotline_shm_due(ngx_uint_t max, ngx_msec_t grace,
    ngx_http_hotline_due_pt handler, void *data);
static ngx_http_hotline_consumer_t *ngx_http_hotline_shm_consumer(
    void *data);
static void ngx_http_hotline_shm_consumer_free(
    ngx_http_hotline_consumer_t *c);
static void ngx_http_hotline_shm_consumer_info(
    ngx_http_hotline_consumer_t *c, ngx_http_hotline_consumer_info_t *ci);
static void ngx_http_hotline_shm_consumer_own(ngx_http_hotline_consumer_t *c,
    void *data);
static void ngx_http_hotline_shm_read_to(ngx_http_hotline_consumer_t *c,
    uint64_t seq);
static ssize_t ngx_http_hotline_shm_pull(ngx_http_hotline_consumer_t *c,
    u_char *buf, size_t size, size_t budget);

static ngx_uint_t ngx_http_hotline_shm_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep);
static void ngx_http_hotline_shm_apply(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep, ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_shm_unprep(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep);
static void ngx_http_hotline_shm_attach(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_consumer_t *c, int64_t from,
    ngx_http_hotline_txres_t *res);
static void ngx_http_hotline_shm_forget(ngx_http_hotline_shm_inbox_t *ib,
    uint64_t seq, size_t keep);
static ngx_uint_t ngx_http_hotline_shm_room(
    ngx_http_hotline_shm_inbox_t *ib, size_t len, size_t max);
static void ngx_http_hotline_shm_append(ngx_http_hotline_shm_inbox_t *ib,
    u_char *data, uint32_t len, size_t max);
static ngx_uint_t ngx_http_hotline_shm_slots_prep(ngx_http_hotline_txn_t *tx,
    ngx_uint_t i, ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_prep_t *prep);
static void ngx_http_hotline_shm_free(ngx_http_hotline_shm_obj_t *o);
static void ngx_http_hotline_shm_free_inbox(
    ngx_http_hotline_shm_inbox_t *ib);
static void ngx_http_hotline_shm_kick(ngx_http_hotline_shm_inbox_t *ib);
static ngx_uint_t ngx_http_hotline_shm_owned(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_consumer_t *c);
static ngx_uint_t ngx_http_hotline_shm_ext_prep(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_prep_t *prep);
static ngx_uint_t ngx_http_hotline_shm_ext_get(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_prep_t *prep);
static ngx_uint_t ngx_http_hotline_shm_drops(ngx_http_hotline_txop_t *t,
    ngx_http_hotline_shm_obj_t *o);
static ngx_int_t ngx_http_hotline_shm_copy(ngx_http_hotline_rec_t *rec,
    ngx_http_hotline_shm_obj_t *o);
static u_char *ngx_http_hotline_shm_read_inbox(ngx_http_hotline_read_t *r,
    u_char *p);
static void ngx_http_hotline_shm_wake(void);
static ngx_int_t ngx_http_hotline_shm_make(void);
static ngx_pid_t ngx_http_hotline_shm_owner(ngx_str_t *key);


ngx_http_hotline_store_t  ngx_http_hotline_store_shm = {
    "shm",
    ngx_http_hotline_shm_init_worker,
    ngx_http_hotline_shm_exit_worker,
    ngx_http_hotline_shm_up,               /* up: unless it waits for the
                                              calls of a binary upgrade */
    ngx_http_hotline_shm_stats,
    ngx_http_hotline_shm_read,
    ngx_http_hotline_shm_commit,
    ngx_http_hotline_shm_due,
    ngx_http_hotline_shm_consumer,
    ngx_http_hotline_shm_consumer_free,
    ngx_http_hotline_shm_consumer_info,
    ngx_http_hotline_shm_consumer_own,
    ngx_http_hotline_shm_pull,
    ngx_http_hotline_shm_read_to,
    ngx_http_hotline_shm_kv_get,
    ngx_http_hotline_shm_kv_set,
    ngx_http_hotline_shm_kv_del,
    ngx_http_hotline_shm_kv_incr,
    ngx_http_hotline_shm_limit,
    NULL,                                  /* history: the journal */
    ngx_http_hotline_shm_kv_attempt,
    ngx_http_hotline_shm_kv_notices,
    8,                                     /* read_share */
    ngx_http_hotline_shm_owner
};


static ngx_queue_t  ngx_http_hotline_shm_consumers;

/*
 * buffers of this worker for what a read and due() answer: apart, since
 * due()'s handler reads (at once, here) while it walks what due() gave
 */
static ngx_http_hotline_scratch_t  ngx_http_hotline_shm_buf;
static ngx_http_hotline_scratch_t  ngx_http_hotline_shm_due_buf;
static ngx_uint_t                  ngx_http_hotline_shm_reading;


#define ngx_http_hotline_lock()                                               \
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex)

#define ngx_http_hotline_unlock()                                             \
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);                        \
    ngx_http_hotline_doorbell_flush()


static ngx_int_t
ngx_http_hotline_shm_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                     made;
    ngx_http_hotline_main_conf_t  *hmcf;

    ngx_queue_init(&ngx_http_hotline_shm_consumers);
    ngx_http_hotline_shm_found_clear();

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);

    ngx_http_hotline_lock();

    made = (ngx_http_hotline_zone->backend == NULL);

    if (ngx_http_hotline_shm_make() != NGX_OK) {
        ngx_http_hotline_unlock();
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hotline: no room for the store in the zone");
        return NGX_ERROR;
    }

    /* the calls of the zone before this one: a restart, an upgrade */
    ngx_http_hotline_handoff_start(cycle, hmcf->handoff_fd,
                                   hmcf->resume_timeout, made);

    ngx_http_hotline_unlock();

    return ngx_http_hotline_doorbell_init(cycle, ngx_http_hotline_shm_wake);
}


/* the store's part of the zone, made by the first worker of a new zone */

static ngx_int_t
ngx_http_hotline_shm_make(void)
{
    ngx_http_hotline_shm_t  *shm;

    if (ngx_http_hotline_zone->backend) {
        ngx_http_hotline_shm = ngx_http_hotline_zone->backend;
        return NGX_OK;
    }

    shm = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                 sizeof(ngx_http_hotline_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&shm->objs, &shm->sentinel, ngx_http_hotline_shm_insert);
    ngx_queue_init(&shm->queue);
    ngx_queue_init(&shm->timers);

    if (ngx_http_hotline_zone->kv == NULL
        && ngx_http_hotline_kv_init(ngx_http_hotline_shpool,
                                    ngx_http_hotline_zone)
           != NGX_OK)
    {
        ngx_slab_free_locked(ngx_http_hotline_shpool, shm);
        return NGX_ERROR;
    }

    ngx_http_hotline_zone->backend = shm;
    ngx_http_hotline_shm = shm;

    return NGX_OK;
}


static void
ngx_http_hotline_shm_exit_worker(ngx_cycle_t *cycle)
{
    ngx_queue_t                  *q;
    ngx_http_hotline_consumer_t  *c;

    /* consumers stay attached: other workers find them orphaned */

    while (!ngx_queue_empty(&ngx_http_hotline_shm_consumers)) {
        q = ngx_queue_head(&ngx_http_hotline_shm_consumers);
        ngx_queue_remove(q);
        c = ngx_queue_data(q, ngx_http_hotline_consumer_t, link);
        ngx_free(c);
    }

    ngx_http_hotline_doorbell_done();

    /* the last worker of the zone writes its calls for the next one */
    ngx_http_hotline_handoff_exit(cycle);

    ngx_http_hotline_scratch_free(&ngx_http_hotline_shm_buf);
    ngx_http_hotline_scratch_free(&ngx_http_hotline_shm_due_buf);
}


static ngx_uint_t
ngx_http_hotline_shm_up(void)
{
    return ngx_http_hotline_shm == NULL || !ngx_http_hotline_shm->pending;
}


static void
ngx_http_hotline_shm_stats(ngx_http_hotline_stats_t *st)
{
    ngx_http_hotline_lock();

    st->up = ngx_http_hotline_shm_up();
    ngx_http_hotline_zone_usage_locked(&st->size, &st->used);

    ngx_http_hotline_unlock();
}


/* reads: copied into this worker's buffer, valid until the handler ends */

static void
ngx_http_hotline_shm_read(ngx_http_hotline_reads_t *rd,
    ngx_http_hotline_read_pt handler, void *data)
{
    u_char                      *p;
    size_t                       size;
    ngx_uint_t                   i, k, n;
    ngx_queue_t                 *q;
    ngx_http_hotline_read_t     *r;
    ngx_http_hotline_rec_t      *rec;
    ngx_http_hotline_shm_t      *shm;
    ngx_http_hotline_shm_obj_t  *o;
    ngx_str_t                    key;

    shm = ngx_http_hotline_shm;

    /* room: records and their values, numbers */

    size = 0;

    for (i = 0; i < rd->n; i++) {
        r = &rd->ops[i];

        if (r->op == NGX_HOTLINE_READ_INBOX) {
            /* n bytes of messages, each in a record */
            size += r->n + (r->n / 16 + 1) * (sizeof(ngx_http_hotline_rec_t)
                                              + 16);
            continue;
        }

        n = (r->op == NGX_HOTLINE_READ_QUEUE) ? r->n
            : (r->op == NGX_HOTLINE_READ_INDEX) ? 2 : 1;

        if (r->op == NGX_HOTLINE_READ_QUEUE && r->values && r->values < n) {
            /* beyond the first ones: tickets */
            size += (n - r->values) * sizeof(ngx_http_hotline_rec_t);
            n = r->values;
        }

        size += n * (sizeof(ngx_http_hotline_rec_t) + NGX_HOTLINE_VALUE_MAX
                     + NGX_HOTLINE_KEY_MAX + 16)
                + (r->n + 1) * sizeof(int64_t);
    }

    p = ngx_http_hotline_scratch(&ngx_http_hotline_shm_buf, size);
    if (p == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, rd);
        return;
    }

    ngx_http_hotline_lock();

    for (i = 0; i < rd->n; i++) {
        r = &rd->ops[i];

        r->nrecs = 0;
        r->total = 0;

        switch (r->op) {

        case NGX_HOTLINE_READ_TICKET:
            r->numbers = (int64_t *) ngx_align_ptr(p, sizeof(int64_t));
            r->numbers[0] = (int64_t) ++shm->next_ticket;
            p = (u_char *) (r->numbers + 1);
            break;

        case NGX_HOTLINE_READ_COUNTERS:
            r->numbers = (int64_t *) ngx_align_ptr(p, sizeof(int64_t));

            for (k = 0; k < r->n; k++) {
                o = ngx_http_hotline_shm_find(&r->names[k]);
                r->numbers[k] = (o && o->counter) ? o->ext->number : -1;
            }

            p = (u_char *) (r->numbers + r->n);
            break;

        case NGX_HOTLINE_READ_QUEUE:
            r->recs = (ngx_http_hotline_rec_t *)
                          ngx_align_ptr(p, sizeof(void *));
            p = (u_char *) (r->recs + r->n);
            r->total = shm->queued;

            for (q = ngx_queue_head(&shm->queue);
                 q != ngx_queue_sentinel(&shm->queue) && r->nrecs < r->n;
                 q = ngx_queue_next(q))
            {
                o = ngx_queue_data(q, ngx_http_hotline_shm_obj_t, queue);
                rec = &r->recs[r->nrecs++];

                if (r->values && r->nrecs > r->values) {
                    ngx_memzero(rec, sizeof(ngx_http_hotline_rec_t));
                    rec->version = o->version;
                    rec->ticket = o->ticket;
                    continue;
                }

                rec->value.data = p;
                (void) ngx_http_hotline_shm_copy(rec, o);
                p += rec->value.len;
                rec->key.data = p;
                p = ngx_http_hotline_shm_key(p, o);
                rec->key.len = p - rec->key.data;
            }

            break;

        case NGX_HOTLINE_READ_INBOX:
            p = ngx_http_hotline_shm_read_inbox(r, p);
            break;

        default: /* record, index */
            r->recs = (ngx_http_hotline_rec_t *)
                          ngx_align_ptr(p, sizeof(void *));
            p = (u_char *) (r->recs + 2);

            o = ngx_http_hotline_shm_find(&r->key);

            for (k = 0; k < (ngx_uint_t) (r->op == NGX_HOTLINE_READ_INDEX
                                          ? 2 : 1); k++)
            {
                rec = &r->recs[r->nrecs++];
                rec->value.data = p;

                if (o == NULL || o->counter) {
                    ngx_memzero(rec, sizeof(ngx_http_hotline_rec_t));

                } else {
                    (void) ngx_http_hotline_shm_copy(rec, o);
                    p += rec->value.len;
                }

                /* an index names the record read next */
                key = rec->value;
                o = (o && k == 0) ? ngx_http_hotline_shm_find(&key) : NULL;
            }

            break;
        }
    }

    ngx_http_hotline_unlock();

    ngx_http_hotline_shm_reading++;

    handler(data, NGX_HOTLINE_OK, rd);

    /*
     * what a read of a long queue took goes back once no handler of a read
     * runs (one may read again, and its caller's results are in the buffer)
     */
    if (--ngx_http_hotline_shm_reading == 0) {
        ngx_http_hotline_scratch_trim(&ngx_http_hotline_shm_buf);
    }
}


/* the messages of a key's inbox, as many as fit in r->n bytes */

static u_char *
ngx_http_hotline_shm_read_inbox(ngx_http_hotline_read_t *r, u_char *p)
{
    size_t                         left;
    uint64_t                       seq;
    ngx_uint_t                     max;
    ngx_http_hotline_rec_t        *rec;
    ngx_http_hotline_shm_obj_t    *o;
    ngx_http_hotline_shm_slot_t   *m;
    ngx_http_hotline_shm_inbox_t  *ib;

    max = r->n / 16 + 1;
    left = r->n;

    r->recs = (ngx_http_hotline_rec_t *) ngx_align_ptr(p, sizeof(void *));
    p = (u_char *) (r->recs + max);

    o = ngx_http_hotline_shm_find(&r->key);

    if (o == NULL || o->inbox == NULL) {
        return p;
    }

    ib = o->inbox;

    for (seq = ngx_http_hotline_shm_first(ib);
         seq <= ib->last && r->nrecs < max;
         seq++)
    {
        m = ngx_http_hotline_shm_slot(ib, seq);

        if (m->len > left) {
            break;
        }

        rec = &r->recs[r->nrecs++];
        ngx_memzero(rec, sizeof(ngx_http_hotline_rec_t));
        rec->version = o->version;
        rec->ticket = seq;
        rec->value.data = p;
        rec->value.len = m->len;

        p = ngx_cpymem(p, m->data, m->len);
        left -= m->len;
    }

    return p;
}


static ngx_int_t
ngx_http_hotline_shm_copy(ngx_http_hotline_rec_t *rec,
    ngx_http_hotline_shm_obj_t *o)
{
    u_char  *p;

    p = rec->value.data;

    ngx_memzero(rec, sizeof(ngx_http_hotline_rec_t));

    rec->version = o->version;
    rec->ticket = o->queued ? o->ticket : 0;
    rec->attached = (o->inbox && o->inbox->owner) ? 1 : 0;
    rec->value.data = p;
    rec->value.len = o->len;

    if (o->len) {
        ngx_memcpy(p, o->value, o->len);
    }

    return NGX_OK;
}


/* a transaction: everything checked and allocated, then applied */

static void
ngx_http_hotline_shm_commit(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_commit_pt handler, void *data)
{
    ngx_http_hotline_txres_t      res;
    ngx_http_hotline_shm_prep_t   prep[NGX_HOTLINE_TX_MAX];

    ngx_memzero(&res, sizeof(ngx_http_hotline_txres_t));
    ngx_memzero(prep, tx->n * sizeof(ngx_http_hotline_shm_prep_t));
    res.left = -1;

    ngx_http_hotline_lock();

    res.err = ngx_http_hotline_shm_check(tx, prep);

    if (res.err == NGX_HOTLINE_OK) {
        ngx_http_hotline_shm_apply(tx, prep, &res);

    } else {
        ngx_http_hotline_shm_unprep(tx, prep);
    }

    ngx_http_hotline_unlock();

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline shm: commit of %ui steps, error %ui",
                   tx->n, res.err);

    handler(data, &res);
}


static ngx_uint_t
ngx_http_hotline_shm_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep)
{
    int64_t                       n;
    ngx_uint_t                    i, j;
    ngx_http_hotline_txop_t      *t;
    ngx_http_hotline_shm_obj_t   *o;

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];

        /* a key looked up for an op before is not looked up again */

        for (j = 0; j < i; j++) {
            if (tx->ops[j].key.len == t->key.len
                && (t->key.len == 0
                    || ngx_memcmp(tx->ops[j].key.data, t->key.data,
                                  t->key.len)
                       == 0))
            {
                break;
            }
        }

        o = (j < i) ? prep[j].found
            : t->key.len ? ngx_http_hotline_shm_find(&t->key) : NULL;

        prep[i].found = o;
        prep[i].obj = o;

        switch (t->op) {

        case NGX_HOTLINE_TX_CHECK:
            if ((o ? o->version : 0) != (uint64_t) t->n) {
                return NGX_HOTLINE_E_CONFLICT;
            }

            break;

        case NGX_HOTLINE_TX_OWNED:
            if (!ngx_http_hotline_shm_owned(o, t->consumer)) {
                return NGX_HOTLINE_E_BAD_STATE;
            }

            break;

        case NGX_HOTLINE_TX_QUEUE:
            if (t->max && ngx_http_hotline_shm->queued >= (ngx_uint_t) t->max)
            {
                return t->err;
            }

            break;

        case NGX_HOTLINE_TX_TIMER:
            if (t->n && !ngx_http_hotline_shm_ext_prep(o, &prep[i])) {
                return NGX_HOTLINE_E_UNAVAILABLE;
            }

            break;

        case NGX_HOTLINE_TX_COUNT:
            n = (o && o->counter) ? o->ext->number : 0;

            if (t->max && !t->force && n + t->n > t->max) {
                return t->err;
            }

            if (ngx_http_hotline_shm_drops(t, o)) {
                break;
            }

            if (o == NULL) {
                prep[i].mem = ngx_http_hotline_shm_new(&t->key);
                if (prep[i].mem == NULL) {
                    return NGX_HOTLINE_E_UNAVAILABLE;
                }
            }

            if (!ngx_http_hotline_shm_ext_prep(o, &prep[i])) {
                return NGX_HOTLINE_E_UNAVAILABLE;
            }

            break;

        case NGX_HOTLINE_TX_PUT:
            if (o == NULL) {
                prep[i].obj = ngx_http_hotline_shm_new(&t->key);
                if (prep[i].obj == NULL) {
                    return NGX_HOTLINE_E_UNAVAILABLE;
                }
            }

            if (t->value.len) {
                prep[i].mem = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                                                    t->value.len);
                if (prep[i].mem == NULL) {
                    return NGX_HOTLINE_E_UNAVAILABLE;
                }
            }

            break;

        case NGX_HOTLINE_TX_APPEND:
            if (o == NULL) {
                for (j = 0; j < i; j++) {
                    if (tx->ops[j].op == NGX_HOTLINE_TX_PUT
                        && prep[j].obj && prep[j].found == NULL
                        && tx->ops[j].key.len == t->key.len
                        && ngx_memcmp(tx->ops[j].key.data, t->key.data,
                                      t->key.len) == 0)
                    {
                        break;
                    }
                }

                if (j == i) {
                    /* the party is gone: nobody will read it */
                    break;
                }

                /* a record this transaction makes */
            }

            if (o && o->inbox
                && (o->inbox->bytes + t->value.len
                    > NGX_HOTLINE_INBOX_BYTES_MAX
                    || o->inbox->kept >= NGX_HOTLINE_INBOX_KEPT_MAX))
            {
                /* an inbox's bytes are 32 bits, its ring bounded */
                return NGX_HOTLINE_E_UNAVAILABLE;
            }

            if (!t->force && o && o->inbox
                && ((o->inbox->busy && t->n != 1)
                    || !ngx_http_hotline_shm_room(o->inbox, t->value.len,
                                                  (size_t) t->max)))
            {
                if (o->inbox->owner) {
                    o->inbox->busy = 1;
                    return NGX_HOTLINE_E_BUSY;
                }

                if (t->err) {
                    return t->err;
                }

                /* a bounded log: what does not fit is left out */
                prep[i].skip = 1;
                break;
            }

            if (o == NULL || o->inbox == NULL) {
                prep[i].inbox = ngx_slab_calloc_locked(
                                        ngx_http_hotline_shpool,
                                        sizeof(ngx_http_hotline_shm_inbox_t));
                if (prep[i].inbox == NULL) {
                    return NGX_HOTLINE_E_UNAVAILABLE;
                }
            }

            prep[i].mem = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                                                t->value.len);
            if (prep[i].mem == NULL
                || !ngx_http_hotline_shm_slots_prep(tx, i, o, prep))
            {
                return NGX_HOTLINE_E_UNAVAILABLE;
            }

            ngx_http_hotline_shm_warm(prep[i].mem, t->value.len);
            break;

        case NGX_HOTLINE_TX_ATTACH:
            if (o == NULL || o->inbox == NULL) {
                prep[i].mem = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                        sizeof(ngx_http_hotline_shm_inbox_t));
                if (prep[i].mem == NULL) {
                    return NGX_HOTLINE_E_UNAVAILABLE;
                }
            }

            break;

        default:
            break;
        }
    }

    return NGX_HOTLINE_OK;
}


/* what check() allocated, freed again */

static void
ngx_http_hotline_shm_unprep(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep)
{
    ngx_uint_t                i;
    ngx_http_hotline_txop_t  *t;

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];

        if (t->op == NGX_HOTLINE_TX_PUT && prep[i].obj
            && prep[i].obj->version == 0)
        {
            /* made by check(), not in the tree */
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].obj);
        }

        if (prep[i].mem) {
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].mem);
        }

        if (prep[i].inbox) {
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].inbox);
        }

        if (prep[i].slots) {
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].slots);
        }

        if (prep[i].ext) {
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].ext);
        }
    }
}


/*
 * An append's room in its inbox's ring, for it and the appends of the
 * transaction before it to the same key: a larger ring, made now if
 * needed (o NULL: an earlier op makes the object); 0: no memory
 */

static ngx_uint_t
ngx_http_hotline_shm_slots_prep(ngx_http_hotline_txn_t *tx, ngx_uint_t i,
    ngx_http_hotline_shm_obj_t *o, ngx_http_hotline_shm_prep_t *prep)
{
    ngx_uint_t                     j, need;
    ngx_http_hotline_shm_inbox_t  *ib;

    ib = o ? o->inbox : NULL;
    need = (ib ? ib->kept : 0) + 1;

    for (j = 0; j < i; j++) {
        if (tx->ops[j].op == NGX_HOTLINE_TX_APPEND
            && tx->ops[j].key.len == tx->ops[i].key.len
            && ngx_memcmp(tx->ops[j].key.data, tx->ops[i].key.data,
                          tx->ops[i].key.len)
               == 0)
        {
            need++;
        }
    }

    if (ib && need <= ib->nslots) {
        return 1;
    }

    prep[i].nslots = ngx_http_hotline_shm_slots_for(need);
    prep[i].slots = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                                  prep[i].nslots
                                  * sizeof(ngx_http_hotline_shm_slot_t));

    return prep[i].slots != NULL;
}


/*
 * An op that queues, times or counts o: the extension o lacks is made
 * now (o NULL: an earlier op of the transaction makes o); 0: no memory
 */

static ngx_uint_t
ngx_http_hotline_shm_ext_prep(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_prep_t *prep)
{
    if (o && o->ext) {
        return 1;
    }

    prep->ext = ngx_http_hotline_shm_ext_alloc();

    return prep->ext != NULL;
}


/* apply(): o gets the extension check() made for it */

static ngx_uint_t
ngx_http_hotline_shm_ext_get(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_prep_t *prep)
{
    u_char  key[NGX_HOTLINE_KEY_MAX], *last;

    ngx_http_hotline_shm_ext_give(o, &prep->ext);

    if (o->ext) {
        return 1;
    }

    /* check() saw another object under the key: not a transition's way */

    last = ngx_http_hotline_shm_key(key, o);

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "hotline shm: \"%*s\" changed within a transaction",
                  (size_t) (last - key), key);

    return 0;
}


static void
ngx_http_hotline_shm_apply(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_shm_prep_t *prep, ngx_http_hotline_txres_t *res)
{
    ngx_uint_t                     i, changed;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_shm_t        *shm;
    ngx_http_hotline_shm_obj_t    *o;
    ngx_http_hotline_shm_inbox_t  *ib;

    shm = ngx_http_hotline_shm;
    changed = 0;

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];

        /* an earlier op of this transaction may have made or freed it */

        if (changed) {
            o = t->key.len ? ngx_http_hotline_shm_find(&t->key) : NULL;

        } else {
            o = prep[i].found;
        }

        if (t->op == NGX_HOTLINE_TX_DEL
            || ((t->op == NGX_HOTLINE_TX_PUT || t->op == NGX_HOTLINE_TX_COUNT)
                && o == NULL))
        {
            changed = 1;
        }

        switch (t->op) {

        case NGX_HOTLINE_TX_PUT:
            if (o == NULL) {
                o = prep[i].obj;
                ngx_rbtree_insert(&shm->objs, &o->node);

            } else if (prep[i].obj != o) {
                /* an earlier PUT of this transaction made it */
                ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].obj);
            }

            if (o->value) {
                ngx_slab_free_locked(ngx_http_hotline_shpool, o->value);
            }

            o->value = prep[i].mem;
            o->len = t->value.len;
            ngx_memcpy(o->value, t->value.data, t->value.len);
            o->version++;
            break;

        case NGX_HOTLINE_TX_DEL:
            if (o) {
                ngx_http_hotline_shm_free(o);
            }

            break;

        case NGX_HOTLINE_TX_QUEUE:
            if (o && !o->queued) {
                ngx_http_hotline_shm_enqueue(o, (uint64_t) t->n);
            }

            break;

        case NGX_HOTLINE_TX_UNQUEUE:
            if (o && o->queued) {
                ngx_queue_remove(&o->queue);
                o->queued = 0;
                shm->queued--;
            }

            break;

        case NGX_HOTLINE_TX_COUNT:
            if (ngx_http_hotline_shm_drops(t, o)) {
                if (o) {
                    ngx_http_hotline_shm_free(o);
                    changed = 1;
                }

                break;
            }

            if (o == NULL) {
                o = prep[i].mem;
                prep[i].mem = NULL;
                ngx_http_hotline_shm_ext_give(o, &prep[i].ext);
                o->counter = 1;
                o->ext->number = t->n;
                ngx_rbtree_insert(&shm->objs, &o->node);

            } else if (!t->force && ngx_http_hotline_shm_ext_get(o, &prep[i]))
            {
                o->ext->number += t->n;
            }

            break;

        case NGX_HOTLINE_TX_APPEND:
            if (o && o->inbox == NULL && prep[i].inbox) {
                o->inbox = prep[i].inbox;
                prep[i].inbox = NULL;
            }

            if (prep[i].inbox) {
                /* another append of this transaction made it */
                ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].inbox);
            }

            if (o == NULL || o->inbox == NULL || prep[i].skip) {
                /* gone, or left out: nobody would read it */
                if (prep[i].mem) {
                    ngx_slab_free_locked(ngx_http_hotline_shpool,
                                         prep[i].mem);
                }

                break;
            }

            ib = o->inbox;

            if (prep[i].slots && prep[i].nslots > ib->nslots) {
                ngx_http_hotline_shm_slots_give(ib, prep[i].slots,
                                                prep[i].nslots);
                prep[i].slots = NULL;
            }

            ngx_memcpy(prep[i].mem, t->value.data, t->value.len);

            if (!t->force) {
                /* the one refused is in: the others may follow */
                ib->busy = 0;
            }

            ngx_http_hotline_shm_append(ib, prep[i].mem,
                                        (uint32_t) t->value.len,
                                        (size_t) t->max);
            break;

        case NGX_HOTLINE_TX_ATTACH:
            if (o == NULL) {
                break;
            }

            if (o->inbox == NULL) {
                o->inbox = prep[i].mem;
                prep[i].mem = NULL;
            }

            ngx_http_hotline_shm_attach(o, t->consumer, t->n, res);
            break;

        case NGX_HOTLINE_TX_RELEASE:
            if (o && ngx_http_hotline_shm_owned(o, t->consumer)) {
                ib = o->inbox;
                ib->owner = 0;
                ib->local = NULL;
                ib->notified = 0;
                t->consumer->inbox = NULL;
            }

            break;

        case NGX_HOTLINE_TX_TIMER:
            if (o && (t->n == 0 || ngx_http_hotline_shm_ext_get(o, &prep[i])))
            {
                ngx_http_hotline_shm_timer(o, (ngx_msec_t) t->n);
            }

            break;

        case NGX_HOTLINE_TX_NOTIFY:
            ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);
            break;

        default: /* check, owned; the history is the node's journal */
            break;
        }

        if (prep[i].mem && t->op == NGX_HOTLINE_TX_ATTACH) {
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].mem);
        }

        if (prep[i].ext) {
            /* its object had one, or is gone */
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].ext);
        }

        if (prep[i].slots) {
            /* another append of this transaction grew the ring more */
            ngx_slab_free_locked(ngx_http_hotline_shpool, prep[i].slots);
        }

        if (i + 1 == tx->n && t->op == NGX_HOTLINE_TX_APPEND
            && t->err == NGX_HOTLINE_OK && o && o->inbox
            && o->inbox->owner == 0 && o->inbox->delivered == 0)
        {
            /* the room a transcript has left (ngx_http_hotline_txres_t) */
            ib = o->inbox;
            res->left = (ngx_int_t) (ib->bytes < t->max ? t->max - ib->bytes
                                                        : 0);
        }
    }
}


/* a decrement that takes a counter with a lifetime to 0 removes it */

static ngx_uint_t
ngx_http_hotline_shm_drops(ngx_http_hotline_txop_t *t,
    ngx_http_hotline_shm_obj_t *o)
{
    return t->ttl && !t->force && t->n < 0
           && (o == NULL || (o->counter && o->ext->number + t->n <= 0));
}


static ngx_uint_t
ngx_http_hotline_shm_owned(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_consumer_t *c)
{
    ngx_http_hotline_shm_inbox_t  *ib;

    ib = o ? o->inbox : NULL;

    if (c == NULL) {
        return ib == NULL || ib->owner == 0;
    }

    return ib && ib->owner == ngx_pid && ib->gen == c->gen && c->inbox == ib;
}


/*
 * The inbox gets a new consumer: the one it had is told; replayed after
 * seq from, as far as it is kept.  from -1: after what the connection
 * that had it was handed, or, while that connection is still there (a
 * takeover), after what its client read (docs/protocol.md: the stores
 * know both exactly).
 */

static void
ngx_http_hotline_shm_attach(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_consumer_t *c, int64_t from,
    ngx_http_hotline_txres_t *res)
{
    uint64_t                       first, last;
    ngx_http_hotline_shm_inbox_t  *ib;

    ib = o->inbox;

    if (ib->owner && !(ib->owner == ngx_pid && ib->gen == c->gen)) {
        /* tell the connection that had it */
        ngx_http_hotline_mailbox_push(ib->owner, ib, ib->gen,
                                      NGX_HOTLINE_MAIL_REPLACED);

        if (from < 0) {
            from = (int64_t) ib->read;
        }
    }

    if (c->inbox && c->inbox != ib && c->inbox->owner == ngx_pid
        && c->inbox->gen == c->gen)
    {
        /* the consumer held another inbox: it lets it go */
        c->inbox->owner = 0;
        c->inbox->local = NULL;
    }

    ib->owner = ngx_pid;
    ib->gen = ngx_http_hotline_shm_next_gen(ngx_http_hotline_shm);
    ib->local = c;
    ib->notified = 0;
    ib->slow = 0;

    c->inbox = ib;
    c->gen = ib->gen;

    if (from >= 0) {
        first = ngx_http_hotline_shm_first(ib);
        last = (uint64_t) from;

        if (last > ib->last) {
            last = ib->last;
        }

        if (last + 1 < first) {
            res->gap = 1;
            last = first - 1;
        }

        ib->delivered = last;
    }

    ib->read = ib->delivered;
    ib->replayed = (uint32_t) ib->last;

    ngx_http_hotline_shm_kick(ib);
}


/*
 * Whether len more bytes fit: room is made by dropping what was
 * delivered, oldest first.  A connected consumer may fall behind by
 * twice the bound for a moment (a burst while its worker is busy); it is
 * told (slow) and its connection decides.
 */

/* messages up to seq are dropped, oldest first, while over keep bytes */

static void
ngx_http_hotline_shm_forget(ngx_http_hotline_shm_inbox_t *ib, uint64_t seq,
    size_t keep)
{
    uint64_t                      first;
    ngx_http_hotline_shm_slot_t  *m;

    first = ngx_http_hotline_shm_first(ib);

    while (ib->bytes > keep && ib->kept && first <= seq) {
        m = ngx_http_hotline_shm_slot(ib, first);

        ib->bytes -= m->len;
        ib->kept--;
        first++;

        ngx_slab_free_locked(ngx_http_hotline_shpool, m->data);
    }
}


static ngx_uint_t
ngx_http_hotline_shm_room(ngx_http_hotline_shm_inbox_t *ib, size_t len,
    size_t max)
{
    ngx_http_hotline_shm_forget(ib, ib->delivered, max > len ? max - len : 0);

    if (ib->bytes + len <= max) {
        return 1;
    }

    return ib->owner != 0 && ib->bytes + len <= 2 * max;
}


/* the ring has room for one more message: check() made it */

static void
ngx_http_hotline_shm_append(ngx_http_hotline_shm_inbox_t *ib, u_char *data,
    uint32_t len, size_t max)
{
    ngx_http_hotline_shm_slot_t  *m;

    (void) ngx_http_hotline_shm_room(ib, len, max);

    if (ib->kept >= ib->nslots) {
        /* not reached: the transaction's check() made the ring larger */
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline shm: an inbox's ring of %uD is full",
                      ib->nslots);
        ngx_slab_free_locked(ngx_http_hotline_shpool, data);
        return;
    }

    m = ngx_http_hotline_shm_slot(ib, ++ib->last);
    m->data = data;
    m->len = len;

    ib->kept++;
    ib->bytes += len;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline shm: inbox seq %uL, %uD bytes, reader %P",
                   ib->last, len, ib->owner);

    if (ib->bytes > max && ib->owner && !ib->slow) {
        ib->slow = 1;
        ngx_http_hotline_mailbox_push(ib->owner, ib, ib->gen,
                                      NGX_HOTLINE_MAIL_SLOW);
    }

    ngx_http_hotline_shm_kick(ib);
}


/* wakes the consumer if it has undelivered messages */

static void
ngx_http_hotline_shm_kick(ngx_http_hotline_shm_inbox_t *ib)
{
    if (ib->owner && !ib->notified && ib->delivered < ib->last) {
        ngx_http_hotline_mailbox_push(ib->owner, ib, ib->gen,
                                      NGX_HOTLINE_MAIL_DELIVER);
        ib->notified = 1;
    }
}


static void
ngx_http_hotline_shm_free(ngx_http_hotline_shm_obj_t *o)
{
    ngx_http_hotline_shm_t  *shm;

    shm = ngx_http_hotline_shm;

    ngx_rbtree_delete(&shm->objs, &o->node);
    shm->freed++;

    if (o->queued) {
        ngx_queue_remove(&o->queue);
        shm->queued--;
    }

    if (o->timed) {
        ngx_queue_remove(&o->ext->timer);
    }

    if (o->ext) {
        ngx_slab_free_locked(ngx_http_hotline_shpool, o->ext);
    }

    if (o->inbox) {
        ngx_http_hotline_shm_free_inbox(o->inbox);
    }

    if (o->value) {
        ngx_slab_free_locked(ngx_http_hotline_shpool, o->value);
    }

    ngx_slab_free_locked(ngx_http_hotline_shpool, o);
}


/* the worker that reads key's inbox */

static ngx_pid_t
ngx_http_hotline_shm_owner(ngx_str_t *key)
{
    ngx_pid_t                    pid;
    ngx_http_hotline_shm_obj_t  *o;

    ngx_http_hotline_lock();

    o = ngx_http_hotline_shm_find(key);
    pid = (o && o->inbox) ? o->inbox->owner : 0;

    ngx_http_hotline_unlock();

    return pid;
}


static void
ngx_http_hotline_shm_free_inbox(ngx_http_hotline_shm_inbox_t *ib)
{
    uint64_t                      seq;
    ngx_http_hotline_consumer_t  *c;

    if (ib->owner == ngx_pid && ib->local) {
        /* a consumer of this worker: it forgets the inbox */
        c = ib->local;
        c->inbox = NULL;
    }

    seq = ngx_http_hotline_shm_first(ib);

    for ( /* void */ ; ib->kept; ib->kept--, seq++) {
        ngx_slab_free_locked(ngx_http_hotline_shpool,
                             ngx_http_hotline_shm_slot(ib, seq)->data);
    }

    ngx_http_hotline_shm_slots_give(ib, NULL, 0);

    /* a stale mailbox entry is recognised by its gen */
    ib->gen = 0;
    ib->owner = 0;

    ngx_slab_free_locked(ngx_http_hotline_shpool, ib);
}


/*
 * Timers that are due, and orphans: inboxes whose worker died; those are
 * let go now, with the grace period as their timer.
 */

static void
ngx_http_hotline_shm_due(ngx_uint_t max, ngx_msec_t grace,
    ngx_http_hotline_due_pt handler, void *data)
{
    u_char                      *p;
    ngx_uint_t                   n;
    ngx_queue_t                 *q;
    ngx_rbtree_node_t           *node, *root, *sentinel;
    ngx_http_hotline_due_t      *due;
    ngx_http_hotline_shm_t      *shm;
    ngx_http_hotline_shm_obj_t  *o;
    ngx_http_hotline_shm_ext_t  *x;

    shm = ngx_http_hotline_shm;

    p = ngx_http_hotline_scratch(&ngx_http_hotline_shm_due_buf,
                                 max * (sizeof(ngx_http_hotline_due_t)
                                        + NGX_HOTLINE_KEY_MAX));
    if (p == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    due = (ngx_http_hotline_due_t *) p;
    p += max * sizeof(ngx_http_hotline_due_t);
    n = 0;

    ngx_http_hotline_lock();

    if (ngx_http_hotline_mailbox_reap()) {
        sentinel = shm->objs.sentinel;
        root = shm->objs.root;

        for (node = (root != sentinel) ? ngx_rbtree_min(root, sentinel)
                                       : NULL;
             node;
             node = ngx_rbtree_next(&shm->objs, node))
        {
            o = (ngx_http_hotline_shm_obj_t *) node;

            if (o->inbox == NULL || o->inbox->owner == 0
                || ngx_http_hotline_mailbox_alive(o->inbox->owner))
            {
                continue;
            }

            o->inbox->owner = 0;
            o->inbox->local = NULL;
            o->inbox->notified = 0;

            x = NULL;

            if (o->ext == NULL) {
                x = ngx_http_hotline_shm_ext_alloc();
                ngx_http_hotline_shm_ext_give(o, &x);
            }

            if (o->ext) {
                ngx_http_hotline_shm_timer(o, grace);

            } else {
                /* it is reported below: its detach sets the timer */
                ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                              "hotline shm: no memory for a timer");
            }

            if (n < max) {
                due[n].key.data = p;
                due[n].why = NGX_HOTLINE_DUE_ORPHAN;
                p = ngx_http_hotline_shm_key(p, o);
                due[n].key.len = p - due[n].key.data;
                n++;
            }
        }
    }

    ngx_http_hotline_kv_expire(1000);

    for (q = ngx_queue_head(&shm->timers);
         q != ngx_queue_sentinel(&shm->timers) && n < max;
         q = ngx_queue_next(q))
    {
        x = ngx_queue_data(q, ngx_http_hotline_shm_ext_t, timer);
        o = x->obj;

        if ((ngx_msec_int_t) (x->deadline - ngx_current_msec) > 0) {
            break;
        }

        due[n].key.data = p;
        due[n].why = NGX_HOTLINE_DUE_TIMER;
        p = ngx_http_hotline_shm_key(p, o);
        due[n].key.len = p - due[n].key.data;
        n++;
    }

    ngx_http_hotline_unlock();

    handler(data, NGX_HOTLINE_OK, due, n);
}


/* consumers */

static ngx_http_hotline_consumer_t *
ngx_http_hotline_shm_consumer(void *data)
{
    ngx_http_hotline_consumer_t  *c;

    c = ngx_calloc(sizeof(ngx_http_hotline_consumer_t), ngx_cycle->log);
    if (c == NULL) {
        return NULL;
    }

    c->data = data;
    ngx_queue_insert_tail(&ngx_http_hotline_shm_consumers, &c->link);

    return c;
}


static void
ngx_http_hotline_shm_consumer_free(ngx_http_hotline_consumer_t *c)
{
    ngx_http_hotline_shm_inbox_t  *ib;

    ngx_http_hotline_lock();

    ib = c->inbox;

    if (ib && ib->owner == ngx_pid && ib->gen == c->gen) {
        /* not released (a bug): no wake-up finds it any more */
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline: a consumer is freed while attached");
        ib->local = NULL;
    }

    ngx_http_hotline_unlock();

    ngx_queue_remove(&c->link);
    ngx_free(c);
}


static void
ngx_http_hotline_shm_consumer_own(ngx_http_hotline_consumer_t *c, void *data)
{
    c->data = data;
}


static void
ngx_http_hotline_shm_consumer_info(ngx_http_hotline_consumer_t *c,
    ngx_http_hotline_consumer_info_t *ci)
{
    ngx_http_hotline_shm_inbox_t  *ib;

    ngx_memzero(ci, sizeof(ngx_http_hotline_consumer_info_t));

    ngx_http_hotline_lock();

    ib = c->inbox;

    if (ib && ib->owner == ngx_pid && ib->gen == c->gen) {
        ci->last = ib->last;
        ci->delivered = ib->delivered;
        ci->replayed = ngx_http_hotline_shm_replayed(ib);
        ci->unread = ib->bytes;
    }

    ngx_http_hotline_unlock();
}


static void
ngx_http_hotline_shm_read_to(ngx_http_hotline_consumer_t *c, uint64_t seq)
{
    ngx_http_hotline_shm_inbox_t  *ib;

    ngx_http_hotline_lock();

    ib = c->inbox;

    if (ib && ib->owner == ngx_pid && ib->gen == c->gen) {
        seq = ngx_min(seq, ib->delivered);

        if (seq > ib->read) {
            ib->read = seq;
        }

        ngx_http_hotline_shm_forget(ib, seq, 0);

        if (ib->kept == 0) {
            /* none kept: a party between calls needs no ring */
            ngx_http_hotline_shm_slots_give(ib, NULL, 0);
        }
    }

    ngx_http_hotline_unlock();
}


static ssize_t
ngx_http_hotline_shm_pull(ngx_http_hotline_consumer_t *c, u_char *buf,
    size_t size, size_t budget)
{
    u_char                        *p;
    size_t                         need, bytes;
    uint64_t                       seq;
    ngx_http_hotline_shm_slot_t   *m;
    ngx_http_hotline_shm_inbox_t  *ib;

    /*
     * Nothing new: known without the lock (aligned words, read at once);
     * a message appended after this look wakes us again, as the last pull
     * or wake-up cleared "notified".
     */

    ib = c->inbox;

    if (ib == NULL) {
        return 0;
    }

    if (ib->owner == ngx_pid && ib->gen == c->gen
        && ib->delivered >= ib->last && !ib->notified)
    {
        return 0;
    }

    ngx_http_hotline_lock();

    if (ib->owner != ngx_pid || ib->gen != c->gen) {
        ngx_http_hotline_unlock();
        return NGX_ERROR;
    }

    ib->notified = 0;
    ib->slow = 0;
    p = buf;
    bytes = 0;

    /* delivered messages stay kept for a replay: those after follow */

    seq = ngx_max(ib->delivered + 1, ngx_http_hotline_shm_first(ib));

    for ( /* void */ ; seq <= ib->last; seq++) {
        m = ngx_http_hotline_shm_slot(ib, seq);

        need = ngx_align(sizeof(uint64_t) + sizeof(uint32_t) + m->len, 8);

        if (p != buf
            && ((size_t) (buf + size - p) < need || bytes + m->len > budget))
        {
            break;
        }

        if ((size_t) (buf + size - p) < need) {
            /* not reached: buf has room for the largest message */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: message of %uD bytes does not fit",
                          m->len);
            ib->delivered = seq;
            continue;
        }

        bytes += m->len;

        ngx_memcpy(p, &seq, sizeof(uint64_t));
        *(uint32_t *) (p + sizeof(uint64_t)) = m->len;
        ngx_memcpy(p + sizeof(uint64_t) + sizeof(uint32_t), m->data, m->len);
        p += need;

        ib->delivered = seq;
    }

    /* a replay that is over follows what is delivered (its low half) */

    if (ngx_http_hotline_shm_replayed(ib) < ib->delivered) {
        ib->replayed = (uint32_t) ib->delivered;
    }

    ngx_http_hotline_unlock();

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline shm: pulled %uz bytes, to seq %uL",
                   (size_t) (p - buf), ib->delivered);

    return p - buf;
}


/* a wake-up: tell the consumers named in our mailbox */

static void
ngx_http_hotline_shm_wake(void)
{
    ngx_uint_t                     i, n, k, flags;
    ngx_queue_t                   *q;
    ngx_http_hotline_mail_t       *m;
    ngx_http_hotline_consumer_t   *c;
    ngx_http_hotline_shm_inbox_t  *ib;
    ngx_http_hotline_store_events_t  *ev;

    ngx_http_hotline_mail_t        mail[NGX_HOTLINE_SHM_BATCH];
    void                          *told[NGX_HOTLINE_SHM_BATCH];
    ngx_uint_t                     what[NGX_HOTLINE_SHM_BATCH];

    ev = ngx_http_hotline_store_events;

    ngx_http_hotline_lock();

    n = ngx_http_hotline_mailbox_take(mail, NGX_HOTLINE_SHM_BATCH, &flags);
    k = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "hotline shm: woken, %ui mails, flags %ui", n, flags);

    for (i = 0; i < n; i++) {
        m = &mail[i];
        ib = m->inbox;

        if (m->kind == NGX_HOTLINE_MAIL_REPLACED) {
            continue;
        }

        c = ib->local;

        if (ib->owner == ngx_pid && ib->gen == m->gen && c && c->data) {
            told[k] = c->data;

            if (m->kind == NGX_HOTLINE_MAIL_DELIVER
                || ib->delivered < ngx_http_hotline_shm_replayed(ib))
            {
                /* a consumer that catches up with a replay is not slow */
                ib->notified = 0;
                what[k++] = NGX_HOTLINE_WAKE_DELIVER;

            } else {
                what[k++] = NGX_HOTLINE_WAKE_SLOW;
            }
        }

        m->inbox = NULL;
    }

    ngx_http_hotline_unlock();

    for (i = 0; i < k; i++) {
        ev->consumer(told[i], what[i]);
    }

    /* consumers that another connection replaced */

    for (i = 0; i < n; i++) {
        if (mail[i].inbox == NULL) {
            continue;
        }

        for (q = ngx_queue_head(&ngx_http_hotline_shm_consumers);
             q != ngx_queue_sentinel(&ngx_http_hotline_shm_consumers);
             q = ngx_queue_next(q))
        {
            c = ngx_queue_data(q, ngx_http_hotline_consumer_t, link);

            if (c->inbox == mail[i].inbox && c->gen == mail[i].gen) {
                if (c->data) {
                    ev->consumer(c->data, NGX_HOTLINE_WAKE_REPLACED);
                }

                break;
            }
        }
    }

    if (flags & NGX_HOTLINE_MAIL_OVERFLOW) {
        for (q = ngx_queue_head(&ngx_http_hotline_shm_consumers);
             q != ngx_queue_sentinel(&ngx_http_hotline_shm_consumers);
             q = ngx_queue_next(q))
        {
            c = ngx_queue_data(q, ngx_http_hotline_consumer_t, link);

            if (c->inbox && c->data) {
                ev->consumer(c->data, NGX_HOTLINE_WAKE_DELIVER);
            }
        }
    }

    if (flags & NGX_HOTLINE_MAIL_QUEUE) {
        ev->queue();
    }

    if (flags & NGX_HOTLINE_MAIL_AUTH) {
        ev->auth();
    }
}
