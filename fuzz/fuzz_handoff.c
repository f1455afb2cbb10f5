
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for the handoff file's reader
 * (src/ngx_http_hotline_store_shm_handoff_body.c): the embedded store's
 * objects as the last zone wrote them, read into a new zone.  The file
 * is written by nginx for nginx and carries a CRC, so a bad one is a
 * damaged disk, a file of another build or a hand that edited it; the
 * reader must take none of it on trust either way.
 *
 * The input is the file as written: its header (the object count is
 * taken modulo 4096, the magic, time and length are the file reader's and
 * are not looked at) and the body, in a buffer of exactly its size.  The
 * CRC that follows a real file's body is left in the input as trailing
 * bytes, which the reader must not take for an object.
 *
 * Checks:
 *   - the zone it leaves is one the store can run on: the tree in order,
 *     the queue by ticket and counted, the timers by deadline, each inbox
 *     a ring of a power of 2 that holds its kept messages (none missing,
 *     bytes counted), delivered <= the replay's end <= last;
 *   - what it took comes back: written out, read into a fresh zone and
 *     written again, the two bodies are the same bytes.
 *
 * The zone's allocator and tree are stand-ins (nginx's slab allocator and
 * red-black tree are not in nginx-dev): every block is a malloc() of its
 * size, so that ASan sees a read past it, and all are freed after each
 * input; the tree is an unbalanced binary search tree in the same order.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_store_shm_objs.h"
#include "ngx_http_hotline_store_shm_handoff_body.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }

#define FZ_OBJECTS_MAX  4096


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* the stand-ins: what the tested sources link against */

volatile ngx_msec_t   ngx_current_msec = 86400000;
volatile ngx_cycle_t *ngx_cycle;
ngx_pid_t             ngx_pid;
ngx_slab_pool_t      *ngx_http_hotline_shpool;

static ngx_slab_pool_t  fz_pool;


typedef struct fz_block_s  fz_block_t;

struct fz_block_s {
    fz_block_t  *prev;
    fz_block_t  *next;
};

static fz_block_t  fz_blocks = { &fz_blocks, &fz_blocks };


void *
ngx_slab_alloc_locked(ngx_slab_pool_t *pool, size_t size)
{
    fz_block_t  *b;

    (void) pool;

    b = malloc(sizeof(fz_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = fz_blocks.next;
    b->prev = &fz_blocks;
    fz_blocks.next->prev = b;
    fz_blocks.next = b;

    return b + 1;
}


void *
ngx_slab_calloc_locked(ngx_slab_pool_t *pool, size_t size)
{
    void  *p;

    p = ngx_slab_alloc_locked(pool, size);

    if (p) {
        ngx_memzero(p, size);
    }

    return p;
}


void
ngx_slab_free_locked(ngx_slab_pool_t *pool, void *p)
{
    fz_block_t  *b;

    (void) pool;

    b = (fz_block_t *) p - 1;
    b->prev->next = b->next;
    b->next->prev = b->prev;
    free(b);
}


static void
fz_free_all(void)
{
    fz_block_t  *b, *next;

    for (b = fz_blocks.next; b != &fz_blocks; b = next) {
        next = b->next;
        free(b);
    }

    fz_blocks.next = &fz_blocks;
    fz_blocks.prev = &fz_blocks;
}


void
ngx_rbtree_insert(ngx_rbtree_t *tree, ngx_rbtree_node_t *node)
{
    if (tree->root == tree->sentinel) {
        node->parent = NULL;
        node->left = tree->sentinel;
        node->right = tree->sentinel;
        ngx_rbt_black(node);
        tree->root = node;
        return;
    }

    tree->insert(tree->root, node, tree->sentinel);
}


ngx_rbtree_node_t *
ngx_rbtree_next(ngx_rbtree_t *tree, ngx_rbtree_node_t *node)
{
    ngx_rbtree_node_t  *parent;

    if (node->right != tree->sentinel) {
        return ngx_rbtree_min(node->right, tree->sentinel);
    }

    for ( ;; ) {
        parent = node->parent;

        if (node == tree->root) {
            return NULL;
        }

        if (node == parent->left) {
            return parent;
        }

        node = parent;
    }
}


void
ngx_rbtree_delete(ngx_rbtree_t *tree, ngx_rbtree_node_t *node)
{
    /* not reached: reading a file takes nothing out of the tree */
    (void) tree;
    (void) node;
    __builtin_trap();
}


void *
ngx_alloc(size_t size, ngx_log_t *log)
{
    (void) log;

    return malloc(size);
}


void
ngx_explicit_memzero(void *buf, size_t n)
{
    ngx_memzero(buf, n);
}


u_char *
ngx_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    /* not reached: the log's level lets nothing through */
    (void) level;
    (void) log;
    (void) err;
    (void) fmt;
    __builtin_trap();
}


/* a new zone's store, as ngx_http_hotline_store_shm.c makes it */

static void
fz_zone(void)
{
    ngx_http_hotline_shm_t  *shm;

    shm = ngx_slab_calloc_locked(&fz_pool, sizeof(ngx_http_hotline_shm_t));
    fz_check(shm != NULL);

    ngx_rbtree_init(&shm->objs, &shm->sentinel, ngx_http_hotline_shm_insert);
    ngx_queue_init(&shm->queue);
    ngx_queue_init(&shm->timers);

    ngx_http_hotline_shm = shm;
    ngx_http_hotline_shpool = &fz_pool;

    /* the lookups remembered point into the zone before */
    ngx_http_hotline_shm_found_clear();
}


/* keys in the tree's order for equal hashes: by length, then bytes */

static int
fz_key_cmp(u_char *a, size_t na, u_char *b, size_t nb)
{
    if (na != nb) {
        return na < nb ? -1 : 1;
    }

    return ngx_memcmp(a, b, na);
}


/* the invariants of the store the zone holds; its number of objects */

static uint64_t
fz_zone_check(void)
{
    u_char                        *key, *prev_key;
    size_t                         len, prev_len;
    uint64_t                       n, queued, seq, first, bytes, replayed;
    ngx_queue_t                   *q;
    ngx_rbtree_node_t             *node, *prev;
    ngx_http_hotline_shm_t        *shm;
    ngx_http_hotline_shm_obj_t    *o, *qo;
    ngx_http_hotline_shm_ext_t    *x, *px;
    ngx_http_hotline_shm_slot_t   *m;
    ngx_http_hotline_shm_inbox_t  *ib;

    u_char  spelt[2][NGX_HOTLINE_KEY_MAX];

    shm = ngx_http_hotline_shm;
    n = 0;

    if (shm->objs.root != shm->objs.sentinel) {
        prev = NULL;
        prev_key = NULL;
        prev_len = 0;

        for (node = ngx_rbtree_min(shm->objs.root, shm->objs.sentinel);
             node;
             node = ngx_rbtree_next(&shm->objs, node))
        {
            o = (ngx_http_hotline_shm_obj_t *) node;
            n++;

            len = ngx_http_hotline_shm_key_len(o);
            fz_check(len > 0 && len <= NGX_HOTLINE_KEY_MAX);

            key = spelt[n & 1];
            (void) ngx_http_hotline_shm_key(key, o);

            /* by hash, equal hashes by key; no key twice */
            if (prev) {
                fz_check(prev->key <= node->key);

                if (prev->key == node->key) {
                    fz_check(fz_key_cmp(prev_key, prev_len, key, len) < 0);
                }
            }

            prev = node;
            prev_key = key;
            prev_len = len;

            fz_check(!o->timed || o->ext != NULL);
            fz_check(!o->counter || o->ext != NULL);
            fz_check(o->ext == NULL || o->ext->obj == o);

            ib = o->inbox;

            if (ib == NULL) {
                continue;
            }

            fz_check(ib->delivered <= ib->last);
            fz_check(ib->kept <= ib->last);

            replayed = ngx_http_hotline_shm_replayed(ib);
            fz_check(ib->delivered <= replayed && replayed <= ib->last);

            if (ib->slots == NULL) {
                fz_check(ib->nslots == 0 && ib->kept == 0 && ib->bytes == 0);
                continue;
            }

            fz_check(ib->nslots >= NGX_HOTLINE_INBOX_SLOTS_MIN);
            fz_check((ib->nslots & (ib->nslots - 1)) == 0);
            fz_check(ib->kept <= ib->nslots);

            first = ngx_http_hotline_shm_first(ib);
            bytes = 0;

            for (seq = first; seq <= ib->last; seq++) {
                m = ngx_http_hotline_shm_slot(ib, seq);
                fz_check(m->data != NULL);
                bytes += m->len;
            }

            fz_check(bytes == ib->bytes);
            fz_check(bytes <= NGX_HOTLINE_INBOX_BYTES_MAX);
        }
    }

    /* the queue: by ticket, counted */

    queued = 0;
    qo = NULL;

    for (q = ngx_queue_head(&shm->queue);
         q != ngx_queue_sentinel(&shm->queue);
         q = ngx_queue_next(q))
    {
        o = ngx_queue_data(q, ngx_http_hotline_shm_obj_t, queue);
        fz_check(o->queued);
        fz_check(qo == NULL || qo->ticket <= o->ticket);
        qo = o;
        queued++;
    }

    fz_check(queued == shm->queued);

    /* the timers: by deadline, each of a timed object */

    px = NULL;

    for (q = ngx_queue_head(&shm->timers);
         q != ngx_queue_sentinel(&shm->timers);
         q = ngx_queue_next(q))
    {
        x = ngx_queue_data(q, ngx_http_hotline_shm_ext_t, timer);
        fz_check(x->obj != NULL && x->obj->timed && x->obj->ext == x);
        fz_check(px == NULL
                 || (ngx_msec_int_t) (x->deadline - px->deadline) >= 0);
        px = x;
    }

    return n;
}


/* a body to the file the environment names, if it does (to debug) */

static void
fz_dump(const char *name, u_char *p, size_t len)
{
    FILE  *f;
    char  *path;

    path = getenv(name);

    if (path && (f = fopen(path, "w"))) {
        (void) fwrite(p, 1, len, f);
        (void) fclose(f);
    }
}


/* the zone's objects as a body: its bytes (malloc()ed), their length */

static u_char *
fz_write(size_t *len, uint64_t *objects)
{
    u_char  *buf, *p;
    size_t   size;

    size = ngx_http_hotline_handoff_body_size();

    buf = malloc(size ? size : 1);
    fz_check(buf != NULL);

    p = ngx_http_hotline_handoff_body_write(buf, objects);

    *len = p - buf;
    fz_check(*len == size);

    return buf;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                           *body, *out1, *out2;
    size_t                            len, len1, len2;
    uint64_t                          n1, n2, w1, w2;
    ngx_log_t                         log;
    ngx_http_hotline_handoff_head_t   h, h1;

    if (size < sizeof(h)) {
        return 0;
    }

    ngx_memcpy(&h, data, sizeof(h));
    h.objects %= FZ_OBJECTS_MAX;

    /* the body alone, in a buffer of its size */

    len = size - sizeof(h);
    body = malloc(len ? len : 1);
    fz_check(body != NULL);
    ngx_memcpy(body, data + sizeof(h), len);

    ngx_memzero(&log, sizeof(ngx_log_t));
    log.log_level = 0;

    fz_zone();

    (void) ngx_http_hotline_handoff_body_read(body, body + len, &h, &log);

    free(body);

    n1 = fz_zone_check();
    fz_check(n1 <= h.objects);

    /* what it took, written, read into a new zone, written again */

    out1 = fz_write(&len1, &w1);
    fz_check(w1 == n1);

    h1 = h;
    h1.objects = n1;
    h1.next_ticket = ngx_http_hotline_shm->next_ticket;
    h1.next_gen = ngx_http_hotline_shm->next_gen;

    fz_free_all();
    fz_zone();

    fz_check(ngx_http_hotline_handoff_body_read(out1, out1 + len1, &h1, &log)
             == NGX_OK);

    n2 = fz_zone_check();
    fz_check(n2 == n1);
    fz_check(ngx_http_hotline_shm->next_ticket == h1.next_ticket);
    fz_check(ngx_http_hotline_shm->next_gen == h1.next_gen);

    out2 = fz_write(&len2, &w2);
    fz_check(w2 == n2);
    if (len2 != len1 || ngx_memcmp(out1, out2, len1) != 0) {
        for (len = 0; len < ngx_min(len1, len2) && out1[len] == out2[len];
             len++) { /* void */ }

        fprintf(stderr, "written again: %zu bytes, not %zu; first "
                "difference at byte %zu\n", len2, len1, len);
        fz_dump("FZ_DUMP1", out1, len1);
        fz_dump("FZ_DUMP2", out2, len2);
        __builtin_trap();
    }

    free(out1);
    free(out2);
    fz_free_all();

    return 0;
}
