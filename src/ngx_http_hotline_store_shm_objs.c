
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_store_shm_objs.h"


/*
 * The embedded store's objects in the node's zone: a tree by key, the
 * queue by ticket and the timers by deadline.  Everything here runs with
 * the zone locked.
 */


/*
 * Keys as kept: one of a letter, ':' and 32 lowercase hex digits (a
 * party's, a call's: ngx_http_hotline_call_tx.c) as 17 bytes, the letter
 * with its high bit set and the 16 bytes the digits spell; any other as
 * it is (the model's keys start with an ASCII letter).  An object's hash
 * is of the key as the model spells it, and keys are ordered so too: a
 * lookup checks its own key's digits against the kept bytes of the object
 * its hash leads to (ngx_http_hotline_shm_spells()) rather than decode
 * them.
 */

#define NGX_HOTLINE_SHM_KEY_HEX     32
#define NGX_HOTLINE_SHM_KEY_PACKED  (1 + NGX_HOTLINE_SHM_KEY_HEX / 2)


static ngx_rbtree_key_t ngx_http_hotline_shm_hash(ngx_str_t *key);
static size_t ngx_http_hotline_shm_key_pack(u_char *dst, ngx_str_t *key);
static ngx_int_t ngx_http_hotline_shm_key_cmp(ngx_str_t *key,
    ngx_http_hotline_shm_obj_t *o);


ngx_http_hotline_shm_t  *ngx_http_hotline_shm;


/*
 * objects: by the hash of their key, equal hashes by the key.  A
 * worker remembers the object each of its last lookups found, by the
 * key's hash: a relayed message looks its sender, its peer and its call
 * up, and finds them again there without walking the tree.  What it
 * remembers holds until an object leaves the tree (shm->freed moves):
 * a pointer it keeps never leads to freed memory.
 */

#define NGX_HOTLINE_SHM_FOUND  256

typedef struct {
    ngx_http_hotline_shm_obj_t    *obj;
    uint64_t                       freed;
} ngx_http_hotline_shm_found_t;


static ngx_http_hotline_shm_found_t
    ngx_http_hotline_shm_found[NGX_HOTLINE_SHM_FOUND];


/* a new worker: nothing of what it was forked with holds */

void
ngx_http_hotline_shm_found_clear(void)
{
    ngx_memzero(ngx_http_hotline_shm_found,
                sizeof(ngx_http_hotline_shm_found));
}


ngx_http_hotline_shm_obj_t *
ngx_http_hotline_shm_find(ngx_str_t *key)
{
    ngx_int_t                      rc;
    ngx_rbtree_key_t               hash;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_hotline_shm_obj_t    *o;
    ngx_http_hotline_shm_found_t  *f;

    hash = ngx_http_hotline_shm_hash(key);

    f = &ngx_http_hotline_shm_found[hash % NGX_HOTLINE_SHM_FOUND];

    if (f->obj && f->freed == ngx_http_hotline_shm->freed
        && f->obj->node.key == hash
        && ngx_http_hotline_shm_key_cmp(key, f->obj) == 0)
    {
        return f->obj;
    }

    node = ngx_http_hotline_shm->objs.root;
    sentinel = ngx_http_hotline_shm->objs.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        o = (ngx_http_hotline_shm_obj_t *) node;

        rc = ngx_http_hotline_shm_key_cmp(key, o);

        if (rc == 0) {
            f->obj = o;
            f->freed = ngx_http_hotline_shm->freed;
            return o;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* a new object, not in the tree yet */

ngx_http_hotline_shm_obj_t *
ngx_http_hotline_shm_new(ngx_str_t *key)
{
    u_char                       kept[NGX_HOTLINE_KEY_MAX];
    size_t                       len;
    ngx_http_hotline_shm_obj_t  *o;

    if (key->len > NGX_HOTLINE_KEY_MAX) {
        return NULL;
    }

    len = ngx_http_hotline_shm_key_pack(kept, key);

    o = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                               offsetof(ngx_http_hotline_shm_obj_t, key)
                               + len);
    if (o == NULL) {
        return NULL;
    }

    o->node.key = ngx_http_hotline_shm_hash(key);
    o->key_len = (u_char) len;
    ngx_memcpy(o->key, kept, len);

    return o;
}


/*
 * Eight bytes at a time, each word mixed in by a multiplication (three
 * lookups a relayed message: murmur2 went a byte at a time through the
 * 34 bytes of a party's key).  Equal hashes cost a key comparison more,
 * nothing else: the tree orders them by key, so no choice of keys makes
 * it deeper.
 */

static ngx_rbtree_key_t
ngx_http_hotline_shm_hash(ngx_str_t *key)
{
    u_char    *p;
    size_t     n;
    uint64_t   h, w;

    p = key->data;
    n = key->len;
    h = n * 0x9e3779b97f4a7c15ULL;

    while (n >= 8) {
        ngx_memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;

        p += 8;
        n -= 8;
    }

    w = 0;

    while (n) {
        w = (w << 8) | p[--n];
    }

    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 32;

    return (ngx_rbtree_key_t) h;
}


static size_t
ngx_http_hotline_shm_key_pack(u_char *dst, ngx_str_t *key)
{
    u_char  *s;

    s = key->data;

    if (key->len == 2 + NGX_HOTLINE_SHM_KEY_HEX && s[1] == ':'
        && s[0] >= 'a' && s[0] <= 'z'
        && ngx_http_hotline_unhex(&dst[1], &s[2], NGX_HOTLINE_SHM_KEY_HEX)
           == NGX_OK)
    {
        dst[0] = (u_char) (s[0] | 0x80);
        return NGX_HOTLINE_SHM_KEY_PACKED;
    }

    ngx_memcpy(dst, s, key->len);

    return key->len;
}


/* key against o's key, both as the model spells them */

static ngx_int_t
ngx_http_hotline_shm_key_cmp(ngx_str_t *key, ngx_http_hotline_shm_obj_t *o)
{
    u_char  spelt[2 + NGX_HOTLINE_SHM_KEY_HEX];

    if (!(o->key[0] & 0x80)) {
        return (key->len == o->key_len)
               ? ngx_memcmp(key->data, o->key, key->len)
               : (ngx_int_t) key->len - (ngx_int_t) o->key_len;
    }

    if (key->len != sizeof(spelt)) {
        return (ngx_int_t) key->len - (ngx_int_t) sizeof(spelt);
    }

    /* the lookup's usual end: its own object */

    if (key->data[0] == (o->key[0] & 0x7f) && key->data[1] == ':'
        && ngx_http_hotline_shm_spells(&key->data[2], &o->key[1]))
    {
        return 0;
    }

    (void) ngx_http_hotline_shm_key(spelt, o);

    return ngx_memcmp(key->data, spelt, sizeof(spelt));
}


size_t
ngx_http_hotline_shm_key_len(ngx_http_hotline_shm_obj_t *o)
{
    return (o->key[0] & 0x80) ? 2 + NGX_HOTLINE_SHM_KEY_HEX : o->key_len;
}


u_char *
ngx_http_hotline_shm_key(u_char *dst, ngx_http_hotline_shm_obj_t *o)
{
    if (!(o->key[0] & 0x80)) {
        return ngx_cpymem(dst, o->key, o->key_len);
    }

    *dst++ = (u_char) (o->key[0] & 0x7f);
    *dst++ = ':';

    return ngx_hex_dump(dst, &o->key[1], NGX_HOTLINE_SHM_KEY_PACKED - 1);
}


ngx_http_hotline_shm_ext_t *
ngx_http_hotline_shm_ext_alloc(void)
{
    return ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                  sizeof(ngx_http_hotline_shm_ext_t));
}


void
ngx_http_hotline_shm_slots_give(ngx_http_hotline_shm_inbox_t *ib,
    ngx_http_hotline_shm_slot_t *slots, uint32_t n)
{
    slots = ngx_http_hotline_shm_slots_move(ib, slots, n);

    if (slots) {
        ngx_slab_free_locked(ngx_http_hotline_shpool, slots);
    }
}


/* *ext becomes o's unless o has one; what is left in *ext is not used */

void
ngx_http_hotline_shm_ext_give(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_ext_t **ext)
{
    if (o->ext || *ext == NULL) {
        return;
    }

    o->ext = *ext;
    o->ext->obj = o;
    *ext = NULL;
}


void
ngx_http_hotline_shm_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    u_char                       spelt[NGX_HOTLINE_KEY_MAX];
    ngx_int_t                    rc;
    ngx_str_t                    key;
    ngx_rbtree_node_t          **p;
    ngx_http_hotline_shm_obj_t  *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_http_hotline_shm_obj_t *) node;
            b = (ngx_http_hotline_shm_obj_t *) temp;

            /* in the order a lookup follows: as the model spells them */

            key.data = spelt;
            key.len = ngx_http_hotline_shm_key(spelt, a) - spelt;

            rc = ngx_http_hotline_shm_key_cmp(&key, b);

            p = (rc < 0) ? &temp->left : &temp->right;
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


/* into the queue at its ticket: tickets grow, commits may come in another
 * order */

void
ngx_http_hotline_shm_enqueue(ngx_http_hotline_shm_obj_t *o, uint64_t ticket)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_shm_t      *shm;
    ngx_http_hotline_shm_obj_t  *other;

    shm = ngx_http_hotline_shm;

    for (q = ngx_queue_last(&shm->queue);
         q != ngx_queue_sentinel(&shm->queue);
         q = ngx_queue_prev(q))
    {
        other = ngx_queue_data(q, ngx_http_hotline_shm_obj_t, queue);

        if (other->ticket < ticket) {
            break;
        }
    }

    o->ticket = ticket;
    o->queued = 1;
    ngx_queue_insert_after(q, &o->queue);
    shm->queued++;
}


void
ngx_http_hotline_shm_timer(ngx_http_hotline_shm_obj_t *o, ngx_msec_t in)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_shm_t      *shm;
    ngx_http_hotline_shm_ext_t  *x, *other;

    shm = ngx_http_hotline_shm;
    x = o->ext;

    if (o->timed) {
        ngx_queue_remove(&x->timer);
        o->timed = 0;
    }

    if (in == 0) {
        return;
    }

    x->deadline = ngx_current_msec + in;
    o->timed = 1;

    for (q = ngx_queue_last(&shm->timers);
         q != ngx_queue_sentinel(&shm->timers);
         q = ngx_queue_prev(q))
    {
        other = ngx_queue_data(q, ngx_http_hotline_shm_ext_t, timer);

        if ((ngx_msec_int_t) (other->deadline - x->deadline) <= 0) {
            break;
        }
    }

    ngx_queue_insert_after(q, &x->timer);
}
