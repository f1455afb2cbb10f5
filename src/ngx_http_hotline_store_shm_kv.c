
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_shm.h"
#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_kv_journal.h"


/*
 * Keyed records with a time to live in the node's zone (the embedded
 * store's answer to Redis' SET/GET/DEL/INCR with EX).  A tree by key,
 * and two by expiry time, so that expiry costs O(log n) a record: one of
 * the records that are kept until they expire, one of the SPARE records,
 * which make room for others when room is short.  The records take at
 * most a quarter of the zone, so that calls always have the rest,
 * whatever the traffic of logins and limits.  DURABLE records are
 * journaled (ngx_http_hotline_kv_journal.c) and put back into a new zone.
 */


#define NGX_HOTLINE_KV_SHARE      4        /* a quarter of the zone */
#define NGX_HOTLINE_KV_WARN       10000    /* ms between two warnings */


typedef struct {
    ngx_rbtree_node_t             node;          /* by key hash */
    ngx_rbtree_node_t             expire;        /* by expiry time */
    int64_t                       number;
    u_short                       key_len;
    u_short                       value_len;
    u_char                        flags;         /* NGX_HOTLINE_KV_* */
    u_char                        data[1];       /* key, then value */
} ngx_http_hotline_kv_rec_t;


typedef struct {
    ngx_rbtree_t                  keys;
    ngx_rbtree_node_t             keys_sentinel;
    ngx_rbtree_t                  expiry;        /* kept until they expire */
    ngx_rbtree_node_t             expiry_sentinel;
    ngx_rbtree_t                  spare;         /* SPARE */
    ngx_rbtree_node_t             spare_sentinel;
    size_t                        used;          /* bytes in the slab pool */
    size_t                        cap;
    ngx_msec_t                    warned;
    ngx_atomic_t                  notices;       /* NOTIFY writes so far */
} ngx_http_hotline_kv_tree_t;


#define ngx_http_hotline_kv_by_expire(n)                                      \
    ((ngx_http_hotline_kv_rec_t *) ((u_char *) (n)                            \
                           - offsetof(ngx_http_hotline_kv_rec_t, expire)))

#define ngx_http_hotline_kv_expiry(kv, r)                                     \
    (((r)->flags & NGX_HOTLINE_KV_SPARE) ? &(kv)->spare : &(kv)->expiry)


static void ngx_http_hotline_kv_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_hotline_kv_take(ngx_str_t *key, ngx_uint_t remove,
    ngx_http_hotline_kv_pt handler, void *data);
static ngx_http_hotline_kv_rec_t *ngx_http_hotline_kv_find(ngx_str_t *key);
static ngx_http_hotline_kv_rec_t *ngx_http_hotline_kv_new(ngx_str_t *key,
    size_t value_len, ngx_msec_t ttl, ngx_uint_t flags);
static void ngx_http_hotline_kv_free(ngx_http_hotline_kv_rec_t *r);
static ngx_http_hotline_kv_rec_t *ngx_http_hotline_kv_counter(ngx_str_t *key,
    ngx_msec_t ttl, ngx_uint_t flags);
static void ngx_http_hotline_kv_value(ngx_http_hotline_kv_t *kv,
    ngx_http_hotline_kv_rec_t *r);
static size_t ngx_http_hotline_kv_cost(size_t size);
static void ngx_http_hotline_kv_replay(ngx_http_hotline_kv_tree_t *kv);
static void ngx_http_hotline_kv_expire_tree(ngx_rbtree_t *tree,
    ngx_uint_t *max);
static ngx_int_t ngx_http_hotline_kv_bad(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);


static ngx_http_hotline_kv_t  ngx_http_hotline_kv_result;


/* the one result of this worker's operations (they never nest) */

static ngx_http_hotline_kv_t *
ngx_http_hotline_kv_clear(void)
{
    ngx_http_hotline_kv_t  *kv;

    kv = &ngx_http_hotline_kv_result;

    kv->found = 0;
    kv->number = 0;
    kv->len = 0;
    kv->ttl = 0;
    kv->retry_after = 0;

    return kv;
}


#define ngx_http_hotline_kv_tree()                                            \
    ((ngx_http_hotline_kv_tree_t *) ngx_http_hotline_zone->kv)


ngx_int_t
ngx_http_hotline_kv_init(ngx_slab_pool_t *shpool,
    ngx_http_hotline_zone_t *zone)
{
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_slab_calloc_locked(shpool, sizeof(ngx_http_hotline_kv_tree_t));
    if (kv == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&kv->keys, &kv->keys_sentinel,
                    ngx_http_hotline_kv_insert);
    ngx_rbtree_init(&kv->expiry, &kv->expiry_sentinel,
                    ngx_rbtree_insert_timer_value);
    ngx_rbtree_init(&kv->spare, &kv->spare_sentinel,
                    ngx_rbtree_insert_timer_value);

    kv->cap = (size_t) (shpool->end - (u_char *) shpool)
              / NGX_HOTLINE_KV_SHARE;

    zone->kv = kv;

    /* a new zone: the durable records of the journal come back */
    ngx_http_hotline_kv_replay(kv);

    return NGX_OK;
}


/* called with the zone locked, by the worker that made the zone's part */

static void
ngx_http_hotline_kv_replay(ngx_http_hotline_kv_tree_t *kv)
{
    int64_t                         now;
    ngx_uint_t                      i, n;
    ngx_time_t                     *tp;
    ngx_http_hotline_kv_rec_t      *r;
    ngx_http_hotline_kv_entry_t    *e;
    ngx_http_hotline_kv_journal_t  *j;

    j = ngx_http_hotline_kv_journal();

    if (j == NULL || j->entries == NULL) {
        return;
    }

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    e = j->entries->elts;
    n = 0;

    for (i = 0; i < j->entries->nelts; i++) {
        if (e[i].expires <= now) {
            continue;
        }

        r = ngx_http_hotline_kv_new(&e[i].key, e[i].value.len,
                                    (ngx_msec_t) (e[i].expires - now),
                                    NGX_HOTLINE_KV_DURABLE);
        if (r == NULL) {
            break;
        }

        ngx_memcpy(r->data + r->key_len, e[i].value.data, e[i].value.len);
        n++;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "hotline: %ui durable records from the state journal "
                  "in the new zone", n);
}


void
ngx_http_hotline_shm_kv_get(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_kv_take(key, 0, handler, data);
}


/* get, or get and delete (remove): of two deletes one finds the record */

static void
ngx_http_hotline_kv_take(ngx_str_t *key, ngx_uint_t remove,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_uint_t                  durable;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();
    durable = 0;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(key);

    if (r) {
        ngx_http_hotline_kv_value(kv, r);
        kv->number = r->number;

        if (remove) {
            durable = r->flags & NGX_HOTLINE_KV_DURABLE;
            ngx_http_hotline_kv_free(r);
        }
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (durable) {
        ngx_http_hotline_kv_journal_write(key, NULL, 0);
    }

    handler(data, NGX_HOTLINE_OK, kv);
}


void
ngx_http_hotline_shm_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_uint_t flags, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_uint_t                  err, was;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();
    kv->ttl = ttl;
    was = 0;

    if (value->len > NGX_HOTLINE_KV_VALUE) {
        handler(data, NGX_HOTLINE_E_INTERNAL, kv);
        return;
    }

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(key);

    if (r) {
        kv->found = 1;
        was = r->flags;
        ngx_http_hotline_kv_free(r);
    }

    r = ngx_http_hotline_kv_new(key, value->len, ttl, flags);

    if (r) {
        ngx_memcpy(r->data + r->key_len, value->data, value->len);
        err = NGX_HOTLINE_OK;

        if (flags & NGX_HOTLINE_KV_NOTIFY) {
            (void) ngx_atomic_fetch_add(&ngx_http_hotline_kv_tree()->notices,
                                        1);
            ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_AUTH);
        }

    } else {
        err = NGX_HOTLINE_E_UNAVAILABLE;
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (r && (flags & NGX_HOTLINE_KV_NOTIFY)) {
        ngx_http_hotline_doorbell_flush();
    }

    if (r && (flags & NGX_HOTLINE_KV_DURABLE)) {
        ngx_http_hotline_kv_journal_write(key, value, ttl);

    } else if (was & NGX_HOTLINE_KV_DURABLE) {
        ngx_http_hotline_kv_journal_write(key, NULL, 0);
    }

    handler(data, err, kv);
}


/*
 * Read without the lock: a NOTIFY write counts itself under the lock with
 * its record, so a reader that finds the count it saw before a lookup
 * knows that no such record was written since.
 */

ngx_atomic_uint_t
ngx_http_hotline_shm_kv_notices(void)
{
    return ngx_http_hotline_kv_tree()->notices;
}


void
ngx_http_hotline_shm_kv_del(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_kv_take(key, 1, handler, data);
}


void
ngx_http_hotline_shm_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_uint_t                  err;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();

    err = NGX_HOTLINE_OK;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_counter(key, ttl, 0);

    if (r) {
        kv->found = 1;
        kv->number = ++r->number;
        kv->ttl = r->expire.key - ngx_current_msec;

    } else {
        err = NGX_HOTLINE_E_UNAVAILABLE;
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    handler(data, err, kv);
}


/*
 * One bounded attempt at a secret (ngx_http_hotline_store.h), under one
 * hold of the zone's mutex: the lock is checked, the attempt counted and
 * the secret read, or the lock set, with nothing in between.
 */

void
ngx_http_hotline_shm_kv_attempt(ngx_str_t *secret, ngx_str_t *counter,
    ngx_str_t *lock, ngx_uint_t max, ngx_msec_t ttl, ngx_uint_t flags,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_str_t                   one;
    ngx_uint_t                  err, locked;
    ngx_msec_int_t              left;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(secret, handler, data)
        || ngx_http_hotline_kv_bad(counter, handler, data)
        || ngx_http_hotline_kv_bad(lock, handler, data))
    {
        return;
    }

    kv = ngx_http_hotline_kv_clear();
    err = NGX_HOTLINE_OK;
    locked = 0;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(lock);

    if (r) {
        left = (ngx_msec_int_t) (r->expire.key - ngx_current_msec);
        kv->retry_after = (left > 0) ? (ngx_msec_t) left : 1;
        goto done;
    }

    r = ngx_http_hotline_kv_counter(counter, ttl,
                                    flags & ~NGX_HOTLINE_KV_DURABLE);
    if (r == NULL) {
        err = NGX_HOTLINE_E_UNAVAILABLE;
        goto done;
    }

    kv->number = ++r->number;

    if ((ngx_uint_t) kv->number > max) {
        r = ngx_http_hotline_kv_new(lock, 1, ttl, flags);

        if (r == NULL) {
            err = NGX_HOTLINE_E_UNAVAILABLE;
            goto done;
        }

        r->data[r->key_len] = '1';
        kv->retry_after = ttl ? ttl : 1;
        locked = flags & NGX_HOTLINE_KV_DURABLE;
        goto done;
    }

    r = ngx_http_hotline_kv_find(secret);

    if (r) {
        ngx_http_hotline_kv_value(kv, r);
    }

done:

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (locked) {
        ngx_str_set(&one, "1");
        ngx_http_hotline_kv_journal_write(lock, &one, ttl);
    }

    handler(data, err, kv);
}


/*
 * GCRA: the record holds the theoretical arrival time (TAT) of the next
 * event, on the zone's monotonic clock.  An event at now is allowed if
 * TAT - now <= interval * burst; it moves TAT to max(TAT, now) + interval.
 */

void
ngx_http_hotline_shm_limit(ngx_str_t *key, ngx_msec_t interval,
    ngx_uint_t burst, ngx_http_hotline_kv_pt handler, void *data)
{
    int64_t                     now, tat, tau;
    ngx_uint_t                  err;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();

    err = NGX_HOTLINE_OK;
    now = (int64_t) ngx_current_msec;
    tau = (int64_t) interval * (int64_t) burst;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(key);

    tat = r ? r->number : now;

    if (tat < now) {
        tat = now;
    }

    if (tat - now > tau) {
        kv->retry_after = (ngx_msec_t) (tat - now - tau);

    } else {
        tat += interval;

        if (r) {
            ngx_http_hotline_kv_free(r);
        }

        /* the record is useless once TAT has passed */
        r = ngx_http_hotline_kv_new(key, 0, (ngx_msec_t) (tat - now),
                                    NGX_HOTLINE_KV_SPARE);

        if (r) {
            r->number = tat;
            kv->found = 1;

        } else {
            err = NGX_HOTLINE_E_UNAVAILABLE;
        }
    }

    kv->number = tat;

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (kv->retry_after) {
        ngx_http_hotline_count_limited();
    }

    handler(data, err, kv);
}


/* called with the zone locked: drops expired records, at most max */

void
ngx_http_hotline_kv_expire(ngx_uint_t max)
{
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();

    ngx_http_hotline_kv_expire_tree(&kv->expiry, &max);
    ngx_http_hotline_kv_expire_tree(&kv->spare, &max);
}


static void
ngx_http_hotline_kv_expire_tree(ngx_rbtree_t *tree, ngx_uint_t *max)
{
    ngx_rbtree_node_t  *node;

    while (*max) {
        if (tree->root == tree->sentinel) {
            return;
        }

        node = ngx_rbtree_min(tree->root, tree->sentinel);

        if ((ngx_msec_int_t) (node->key - ngx_current_msec) > 0) {
            return;
        }

        ngx_http_hotline_kv_free(ngx_http_hotline_kv_by_expire(node));
        (*max)--;
    }
}


static ngx_int_t
ngx_http_hotline_kv_bad(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    if (key->len == 0 || key->len > NGX_HOTLINE_KV_KEY
        || ngx_http_hotline_zone == NULL)
    {
        handler(data, NGX_HOTLINE_E_INTERNAL, ngx_http_hotline_kv_clear());
        return 1;
    }

    return 0;
}


/* called with the zone locked; an expired record is as good as none */

static ngx_http_hotline_kv_rec_t *
ngx_http_hotline_kv_find(ngx_str_t *key)
{
    ngx_int_t                    rc;
    ngx_rbtree_key_t             hash;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_hotline_kv_rec_t   *r;
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();

    ngx_http_hotline_kv_expire(8);

    hash = ngx_crc32_short(key->data, key->len);

    node = kv->keys.root;
    sentinel = kv->keys.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        r = (ngx_http_hotline_kv_rec_t *) node;

        rc = ngx_memn2cmp(key->data, r->data, key->len, r->key_len);

        if (rc == 0) {
            if ((ngx_msec_int_t) (r->expire.key - ngx_current_msec) <= 0) {
                ngx_http_hotline_kv_free(r);
                return NULL;
            }

            return r;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Called with the zone locked.  A record that does not fit in the share
 * of the zone or in the zone takes the room of SPARE records, those
 * closest to their end first; the others are never dropped early.
 */

/* a counter: found, or made at 0 with ttl (which is not renewed) */

static ngx_http_hotline_kv_rec_t *
ngx_http_hotline_kv_counter(ngx_str_t *key, ngx_msec_t ttl, ngx_uint_t flags)
{
    ngx_http_hotline_kv_rec_t  *r;

    r = ngx_http_hotline_kv_find(key);

    if (r == NULL) {
        r = ngx_http_hotline_kv_new(key, 0, ttl, flags);
    }

    return r;
}


/* what a get answers of a record: its value and the time it has left */

static void
ngx_http_hotline_kv_value(ngx_http_hotline_kv_t *kv,
    ngx_http_hotline_kv_rec_t *r)
{
    kv->found = 1;
    kv->len = r->value_len;
    ngx_memcpy(kv->value, r->data + r->key_len, r->value_len);
    kv->ttl = r->expire.key - ngx_current_msec;
}


static ngx_http_hotline_kv_rec_t *
ngx_http_hotline_kv_new(ngx_str_t *key, size_t value_len, ngx_msec_t ttl,
    ngx_uint_t flags)
{
    size_t                       size, cost;
    ngx_uint_t                   tries;
    ngx_rbtree_node_t           *node;
    ngx_http_hotline_kv_rec_t   *r;
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();
    size = offsetof(ngx_http_hotline_kv_rec_t, data) + key->len + value_len;
    cost = ngx_http_hotline_kv_cost(size);

    for (tries = 0; /* void */; tries++) {
        r = NULL;

        if (kv->used + cost <= kv->cap) {
            r = ngx_slab_alloc_locked(ngx_http_hotline_shpool, size);
        }

        if (r || tries == 64 || kv->spare.root == kv->spare.sentinel) {
            break;
        }

        node = ngx_rbtree_min(kv->spare.root, kv->spare.sentinel);
        ngx_http_hotline_kv_free(ngx_http_hotline_kv_by_expire(node));
    }

    if (r == NULL) {
        if ((ngx_msec_int_t) (ngx_current_msec - kv->warned)
            >= NGX_HOTLINE_KV_WARN || kv->warned == 0)
        {
            kv->warned = ngx_current_msec;
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "hotline: no room for a keyed value in the zone "
                          "(%uz of %uz bytes in use), it was not stored",
                          kv->used, kv->cap);
        }

        return NULL;
    }

    kv->used += cost;

    r->number = 0;
    r->key_len = (u_short) key->len;
    r->value_len = (u_short) value_len;
    r->flags = (u_char) flags;
    ngx_memcpy(r->data, key->data, key->len);

    r->node.key = ngx_crc32_short(key->data, key->len);
    ngx_rbtree_insert(&kv->keys, &r->node);

    r->expire.key = ngx_current_msec + (ttl ? ttl : 1);
    ngx_rbtree_insert(ngx_http_hotline_kv_expiry(kv, r), &r->expire);

    return r;
}


static void
ngx_http_hotline_kv_free(ngx_http_hotline_kv_rec_t *r)
{
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();

    kv->used -= ngx_http_hotline_kv_cost(offsetof(ngx_http_hotline_kv_rec_t,
                                                  data)
                                         + r->key_len + r->value_len);

    ngx_rbtree_delete(&kv->keys, &r->node);
    ngx_rbtree_delete(ngx_http_hotline_kv_expiry(kv, r), &r->expire);
    ngx_slab_free_locked(ngx_http_hotline_shpool, r);
}


/* what an allocation of size takes from the slab pool */

static size_t
ngx_http_hotline_kv_cost(size_t size)
{
    size_t  n;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (n = 8; n < size; n <<= 1) { /* void */ }

    return n;
}


static void
ngx_http_hotline_kv_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_hotline_kv_rec_t   *n, *t;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            n = (ngx_http_hotline_kv_rec_t *) node;
            t = (ngx_http_hotline_kv_rec_t *) temp;

            p = (ngx_memn2cmp(n->data, t->data, n->key_len, t->key_len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
