
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


/*
 * Keyed records with a time to live in the node's zone (the embedded
 * store's answer to Redis' SET/GET/DEL/INCR with EX).  Two trees: one by
 * key, one by expiry time, so that expiry costs O(log n) a record.  When
 * the zone is full the records closest to expiry make room.
 */


typedef struct {
    ngx_rbtree_node_t             node;          /* by key hash */
    ngx_rbtree_node_t             expire;        /* by expiry time */
    int64_t                       number;
    u_short                       key_len;
    u_short                       value_len;
    u_char                        data[1];       /* key, then value */
} ngx_http_hotline_kv_rec_t;


typedef struct {
    ngx_rbtree_t                  keys;
    ngx_rbtree_node_t             keys_sentinel;
    ngx_rbtree_t                  expiry;
    ngx_rbtree_node_t             expiry_sentinel;
} ngx_http_hotline_kv_tree_t;


#define ngx_http_hotline_kv_by_expire(n)                                      \
    ((ngx_http_hotline_kv_rec_t *) ((u_char *) (n)                            \
                           - offsetof(ngx_http_hotline_kv_rec_t, expire)))


static void ngx_http_hotline_kv_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_hotline_kv_take(ngx_str_t *key, ngx_uint_t remove,
    ngx_http_hotline_kv_pt handler, void *data);
static ngx_http_hotline_kv_rec_t *ngx_http_hotline_kv_find(ngx_str_t *key);
static ngx_http_hotline_kv_rec_t *ngx_http_hotline_kv_new(ngx_str_t *key,
    size_t value_len, ngx_msec_t ttl);
static void ngx_http_hotline_kv_free(ngx_http_hotline_kv_rec_t *r);
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

    zone->kv = kv;

    return NGX_OK;
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
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(key);

    if (r) {
        kv->found = 1;
        kv->number = r->number;
        kv->len = r->value_len;
        ngx_memcpy(kv->value, r->data + r->key_len, r->value_len);
        kv->ttl = r->expire.key - ngx_current_msec;

        if (remove) {
            ngx_http_hotline_kv_free(r);
        }
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    handler(data, NGX_HOTLINE_OK, kv);
}


void
ngx_http_hotline_shm_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_uint_t                  err;
    ngx_http_hotline_kv_t      *kv;
    ngx_http_hotline_kv_rec_t  *r;

    if (ngx_http_hotline_kv_bad(key, handler, data)) {
        return;
    }

    kv = ngx_http_hotline_kv_clear();
    kv->ttl = ttl;

    if (value->len > NGX_HOTLINE_KV_VALUE) {
        handler(data, NGX_HOTLINE_E_INTERNAL, kv);
        return;
    }

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    r = ngx_http_hotline_kv_find(key);

    if (r) {
        kv->found = 1;
        ngx_http_hotline_kv_free(r);
    }

    r = ngx_http_hotline_kv_new(key, value->len, ttl);

    if (r) {
        ngx_memcpy(r->data + r->key_len, value->data, value->len);
        err = NGX_HOTLINE_OK;

    } else {
        err = NGX_HOTLINE_E_UNAVAILABLE;
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    handler(data, err, kv);
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

    r = ngx_http_hotline_kv_find(key);

    if (r == NULL) {
        r = ngx_http_hotline_kv_new(key, 0, ttl);
    }

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
        r = ngx_http_hotline_kv_new(key, 0, (ngx_msec_t) (tat - now));

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


void
ngx_http_hotline_shm_revoke(u_char *jti, size_t len, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data)
{
    u_char     *p;
    ngx_str_t   key, value;
    u_char      buf[NGX_HOTLINE_KV_KEY];

    if (len > NGX_HOTLINE_KV_KEY - sizeof("revoked:")) {
        len = NGX_HOTLINE_KV_KEY - sizeof("revoked:");
    }

    p = ngx_cpymem(buf, "revoked:", sizeof("revoked:") - 1);
    p = ngx_cpymem(p, jti, len);

    key.data = buf;
    key.len = p - buf;
    ngx_str_set(&value, "1");

    ngx_http_hotline_shm_kv_set(&key, &value, ttl, handler, data);

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_AUTH);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    ngx_http_hotline_doorbell_flush();
}


/* called with the zone locked: drops expired records, at most max */

void
ngx_http_hotline_kv_expire(ngx_uint_t max)
{
    ngx_rbtree_node_t           *node, *root, *sentinel;
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();
    sentinel = kv->expiry.sentinel;

    while (max--) {
        root = kv->expiry.root;

        if (root == sentinel) {
            return;
        }

        node = ngx_rbtree_min(root, sentinel);

        if ((ngx_msec_int_t) (node->key - ngx_current_msec) > 0) {
            return;
        }

        ngx_http_hotline_kv_free(ngx_http_hotline_kv_by_expire(node));
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


static ngx_http_hotline_kv_rec_t *
ngx_http_hotline_kv_new(ngx_str_t *key, size_t value_len, ngx_msec_t ttl)
{
    size_t                       size;
    ngx_uint_t                   tries;
    ngx_rbtree_node_t           *node;
    ngx_http_hotline_kv_rec_t   *r;
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();
    size = offsetof(ngx_http_hotline_kv_rec_t, data) + key->len + value_len;

    for (tries = 0; /* void */; tries++) {
        r = ngx_slab_alloc_locked(ngx_http_hotline_shpool, size);

        if (r || tries == 16 || kv->expiry.root == kv->expiry.sentinel) {
            break;
        }

        /* full: the record closest to its end makes room */

        node = ngx_rbtree_min(kv->expiry.root, kv->expiry.sentinel);
        ngx_http_hotline_kv_free(ngx_http_hotline_kv_by_expire(node));
    }

    if (r == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline: the zone is full, a record was not stored");
        return NULL;
    }

    r->number = 0;
    r->key_len = (u_short) key->len;
    r->value_len = (u_short) value_len;
    ngx_memcpy(r->data, key->data, key->len);

    r->node.key = ngx_crc32_short(key->data, key->len);
    ngx_rbtree_insert(&kv->keys, &r->node);

    r->expire.key = ngx_current_msec + (ttl ? ttl : 1);
    ngx_rbtree_insert(&kv->expiry, &r->expire);

    return r;
}


static void
ngx_http_hotline_kv_free(ngx_http_hotline_kv_rec_t *r)
{
    ngx_http_hotline_kv_tree_t  *kv;

    kv = ngx_http_hotline_kv_tree();

    ngx_rbtree_delete(&kv->keys, &r->node);
    ngx_rbtree_delete(&kv->expiry, &r->expire);
    ngx_slab_free_locked(ngx_http_hotline_shpool, r);
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
