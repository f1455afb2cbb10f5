
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_store_shm_objs.h"


/*
 * The embedded store's objects in the node's zone: a tree by key, the
 * queue by ticket and the timers by deadline.  Everything here runs with
 * the zone locked.
 */


ngx_http_hotline_shm_t  *ngx_http_hotline_shm;


/* objects: by the hash of their key, equal hashes by the key */

ngx_http_hotline_shm_obj_t *
ngx_http_hotline_shm_find(ngx_str_t *key)
{
    ngx_int_t                    rc;
    ngx_rbtree_key_t             hash;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_hotline_shm_obj_t  *o;

    hash = ngx_murmur_hash2(key->data, key->len);

    node = ngx_http_hotline_shm->objs.root;
    sentinel = ngx_http_hotline_shm->objs.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        o = (ngx_http_hotline_shm_obj_t *) node;

        rc = (key->len == o->key_len)
             ? ngx_memcmp(key->data, o->key, key->len)
             : (ngx_int_t) key->len - (ngx_int_t) o->key_len;

        if (rc == 0) {
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
    ngx_http_hotline_shm_obj_t  *o;

    o = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                               offsetof(ngx_http_hotline_shm_obj_t, key)
                               + key->len);
    if (o == NULL) {
        return NULL;
    }

    o->node.key = ngx_murmur_hash2(key->data, key->len);
    o->key_len = (u_char) key->len;
    ngx_memcpy(o->key, key->data, key->len);

    return o;
}


ngx_http_hotline_shm_ext_t *
ngx_http_hotline_shm_ext_alloc(void)
{
    return ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                  sizeof(ngx_http_hotline_shm_ext_t));
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
    ngx_int_t                    rc;
    ngx_rbtree_node_t          **p;
    ngx_http_hotline_shm_obj_t  *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_http_hotline_shm_obj_t *) node;
            b = (ngx_http_hotline_shm_obj_t *) temp;

            rc = (a->key_len == b->key_len)
                 ? ngx_memcmp(a->key, b->key, a->key_len)
                 : (ngx_int_t) a->key_len - (ngx_int_t) b->key_len;

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
    ngx_http_hotline_shm_ext_t  *other;

    shm = ngx_http_hotline_shm;

    for (q = ngx_queue_last(&shm->queue);
         q != ngx_queue_sentinel(&shm->queue);
         q = ngx_queue_prev(q))
    {
        other = ngx_queue_data(q, ngx_http_hotline_shm_ext_t, queue);

        if (other->ticket < ticket) {
            break;
        }
    }

    o->ext->ticket = ticket;
    o->queued = 1;
    ngx_queue_insert_after(q, &o->ext->queue);
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
