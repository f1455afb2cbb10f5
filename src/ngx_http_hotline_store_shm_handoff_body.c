
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_store_shm_objs.h"
#include "ngx_http_hotline_store_shm_handoff_body.h"


/*
 * The body of the handoff file: the store's objects one after another,
 * each a head (ngx_http_hotline_handoff_obj_t), its key and value padded
 * to 8 bytes, and with an inbox its head and its kept messages, each a
 * head and its bytes padded to 8.  In the host's byte order, read back by
 * the same build (the header's magic says which).  The reader trusts no
 * count nor length: each is checked against what is left of the body and
 * against what the zone allows (fuzz/fuzz_handoff.c).
 */


#define NGX_HOTLINE_HO_QUEUED        0x01
#define NGX_HOTLINE_HO_TIMED         0x02
#define NGX_HOTLINE_HO_COUNTER       0x04
#define NGX_HOTLINE_HO_VALUE         0x08
#define NGX_HOTLINE_HO_INBOX         0x10
#define NGX_HOTLINE_HO_OWNED         0x20


typedef struct {
    uint16_t                       key_len;
    uint16_t                       flags;
    uint32_t                       value_len;
    uint64_t                       version;
    uint64_t                       ticket;
    int64_t                        number;
    int64_t                        timer;      /* ms left */
} ngx_http_hotline_handoff_obj_t;


typedef struct {
    uint64_t                       last;
    uint64_t                       delivered;
    uint64_t                       replayed;
    uint64_t                       msgs;
} ngx_http_hotline_handoff_inbox_t;


typedef struct {
    uint64_t                       seq;
    uint64_t                       len;
} ngx_http_hotline_handoff_msg_t;


static u_char *ngx_http_hotline_handoff_body_obj(u_char *p,
    ngx_http_hotline_shm_obj_t *o);
static ngx_int_t ngx_http_hotline_handoff_body_msgs(
    ngx_http_hotline_shm_inbox_t *ib, ngx_http_hotline_handoff_inbox_t *hi,
    u_char **pp, u_char *last);
static u_char *ngx_http_hotline_handoff_body_skip(u_char *p, u_char *last);
static int ngx_libc_cdecl ngx_http_hotline_handoff_body_by_ticket(
    const void *one, const void *two);
static int ngx_libc_cdecl ngx_http_hotline_handoff_body_by_left(
    const void *one, const void *two);


/* the bytes the objects take, with the zone locked */

size_t
ngx_http_hotline_handoff_body_size(void)
{
    size_t                          size;
    uint64_t                        seq;
    ngx_rbtree_node_t              *node;
    ngx_http_hotline_shm_t         *shm;
    ngx_http_hotline_shm_obj_t     *o;
    ngx_http_hotline_shm_inbox_t   *ib;

    shm = ngx_http_hotline_shm;
    size = 0;

    if (shm->objs.root == shm->objs.sentinel) {
        return 0;
    }

    for (node = ngx_rbtree_min(shm->objs.root, shm->objs.sentinel);
         node;
         node = ngx_rbtree_next(&shm->objs, node))
    {
        o = (ngx_http_hotline_shm_obj_t *) node;

        size += sizeof(ngx_http_hotline_handoff_obj_t)
                + ngx_align(ngx_http_hotline_shm_key_len(o)
                            + (o->value ? o->len : 0), 8);

        if (o->inbox == NULL) {
            continue;
        }

        size += sizeof(ngx_http_hotline_handoff_inbox_t);
        ib = o->inbox;

        for (seq = ngx_http_hotline_shm_first(ib); seq <= ib->last; seq++) {
            size += sizeof(ngx_http_hotline_handoff_msg_t)
                    + ngx_align(ngx_http_hotline_shm_slot(ib, seq)->len, 8);
        }
    }

    return size;
}


u_char *
ngx_http_hotline_handoff_body_write(u_char *p, uint64_t *objects)
{
    ngx_rbtree_node_t       *node;
    ngx_http_hotline_shm_t  *shm;

    shm = ngx_http_hotline_shm;
    *objects = 0;

    if (shm->objs.root == shm->objs.sentinel) {
        return p;
    }

    for (node = ngx_rbtree_min(shm->objs.root, shm->objs.sentinel);
         node;
         node = ngx_rbtree_next(&shm->objs, node))
    {
        p = ngx_http_hotline_handoff_body_obj(p,
                                          (ngx_http_hotline_shm_obj_t *) node);
        (*objects)++;
    }

    return p;
}


/*
 * zeros from p to the next 8 bytes from start: the file holds no bytes of
 * the worker's heap
 */

static ngx_inline u_char *
ngx_http_hotline_handoff_body_pad(u_char *start, u_char *p)
{
    u_char  *end;

    end = start + ngx_align((size_t) (p - start), 8);

    while (p < end) {
        *p++ = 0;
    }

    return p;
}


static u_char *
ngx_http_hotline_handoff_body_obj(u_char *p, ngx_http_hotline_shm_obj_t *o)
{
    u_char                            *start;
    uint64_t                           seq;
    ngx_http_hotline_shm_slot_t       *m;
    ngx_http_hotline_shm_inbox_t      *ib;
    ngx_http_hotline_handoff_obj_t     ho;
    ngx_http_hotline_handoff_msg_t     hm;
    ngx_http_hotline_handoff_inbox_t   hi;

    ngx_memzero(&ho, sizeof(ho));

    ho.key_len = (uint16_t) ngx_http_hotline_shm_key_len(o);
    ho.flags = (o->queued ? NGX_HOTLINE_HO_QUEUED : 0)
               | (o->timed ? NGX_HOTLINE_HO_TIMED : 0)
               | (o->counter ? NGX_HOTLINE_HO_COUNTER : 0)
               | (o->value ? NGX_HOTLINE_HO_VALUE : 0)
               | (o->inbox ? NGX_HOTLINE_HO_INBOX : 0)
               | (o->inbox && o->inbox->owner ? NGX_HOTLINE_HO_OWNED : 0);
    ho.value_len = o->value ? (uint32_t) o->len : 0;
    ho.version = o->version;
    ho.ticket = o->ticket;
    ho.number = o->ext ? o->ext->number : 0;

    if (o->timed) {
        ho.timer = (ngx_msec_int_t) (o->ext->deadline - ngx_current_msec);

        if (ho.timer < 1) {
            ho.timer = 1;
        }
    }

    p = ngx_cpymem(p, &ho, sizeof(ho));

    start = p;
    p = ngx_http_hotline_shm_key(p, o);

    if (o->value) {
        p = ngx_cpymem(p, o->value, o->len);
    }

    p = ngx_http_hotline_handoff_body_pad(start, p);

    if (o->inbox == NULL) {
        return p;
    }

    ib = o->inbox;

    hi.last = ib->last;
    hi.delivered = ib->delivered;
    hi.replayed = ngx_http_hotline_shm_replayed(ib);
    hi.msgs = ib->kept;

    p = ngx_cpymem(p, &hi, sizeof(hi));

    for (seq = ngx_http_hotline_shm_first(ib); seq <= ib->last; seq++) {
        m = ngx_http_hotline_shm_slot(ib, seq);

        hm.seq = seq;
        hm.len = m->len;
        p = ngx_cpymem(p, &hm, sizeof(hm));

        start = p;
        p = ngx_cpymem(p, m->data, m->len);
        p = ngx_http_hotline_handoff_body_pad(start, p);
    }

    return p;
}


/* the objects into the zone; bounded by the body, checked as they come */

ngx_int_t
ngx_http_hotline_handoff_body_read(u_char *p, u_char *last,
    ngx_http_hotline_handoff_head_t *h, ngx_log_t *log)
{
    size_t                             len;
    uint64_t                           i, n, nq, nt;
    ngx_int_t                          rc;
    ngx_str_t                          key;
    ngx_http_hotline_shm_t            *shm;
    ngx_http_hotline_shm_obj_t        *o, **queued, **timed;
    ngx_http_hotline_shm_ext_t        *x;
    ngx_http_hotline_shm_inbox_t      *ib;
    ngx_http_hotline_handoff_obj_t     ho;
    ngx_http_hotline_handoff_inbox_t   hi;

    shm = ngx_http_hotline_shm;
    rc = NGX_OK;

    /*
     * the queued objects go into the queue at the end, by ticket, and the
     * timed ones into the timers, by what they have left: the file has
     * them by key, and one by one each would walk the queue or the timers
     * from their tail (ngx_http_hotline_shm_enqueue(), _timer()): a
     * restart with 51,000 customers waiting held the zone locked for 66 s
     */

    n = ngx_min(h->objects, (uint64_t) (last - p) / sizeof(ho));
    nq = 0;
    nt = 0;
    queued = n ? ngx_alloc(2 * n * sizeof(ngx_http_hotline_shm_obj_t *), log)
               : NULL;
    timed = queued ? queued + n : NULL;

    for (i = 0; i < h->objects; i++) {

        if ((size_t) (last - p) < sizeof(ho)) {
            goto bad;
        }

        ngx_memcpy(&ho, p, sizeof(ho));
        p += sizeof(ho);

        len = ngx_align((size_t) ho.key_len + ho.value_len, 8);

        /*
         * the model's keys start with an ASCII letter: a byte with its
         * high bit set starts a packed key (ngx_http_hotline_shm_key())
         */

        if (ho.key_len == 0 || ho.key_len > NGX_HOTLINE_KEY_MAX
            || (size_t) (last - p) < len
            || (u_char) (p[0] | 0x20) < 'a' || (u_char) (p[0] | 0x20) > 'z')
        {
            goto bad;
        }

        key.data = p;
        key.len = ho.key_len;

        o = ngx_http_hotline_shm_find(&key);

        if (o) {
            /*
             * made by the new zone meanwhile: a counter it seeded too
             * (today's calls), or a party that joined it (kept)
             */

            if (o->counter && (ho.flags & NGX_HOTLINE_HO_COUNTER)
                && ho.number > o->ext->number)
            {
                o->ext->number = ho.number;
            }

            p += len;

            if (ho.flags & NGX_HOTLINE_HO_INBOX) {
                p = ngx_http_hotline_handoff_body_skip(p, last);
                if (p == NULL) {
                    goto bad;
                }
            }

            continue;
        }

        o = ngx_http_hotline_shm_new(&key);
        if (o == NULL) {
            goto nomem;
        }

        o->version = ho.version;
        o->counter = (ho.flags & NGX_HOTLINE_HO_COUNTER) ? 1 : 0;

        if (ho.number || (ho.flags & (NGX_HOTLINE_HO_TIMED
                                      |NGX_HOTLINE_HO_COUNTER)))
        {
            x = ngx_http_hotline_shm_ext_alloc();
            if (x == NULL) {
                ngx_slab_free_locked(ngx_http_hotline_shpool, o);
                goto nomem;
            }

            ngx_http_hotline_shm_ext_give(o, &x);
            o->ext->number = ho.number;
        }

        if (ho.flags & NGX_HOTLINE_HO_VALUE) {
            o->value = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                                             ho.value_len ? ho.value_len : 1);
            if (o->value == NULL) {
                if (o->ext) {
                    ngx_slab_free_locked(ngx_http_hotline_shpool, o->ext);
                }

                ngx_slab_free_locked(ngx_http_hotline_shpool, o);
                goto nomem;
            }

            o->len = ho.value_len;
            ngx_memcpy(o->value, p + ho.key_len, ho.value_len);
        }

        p += len;

        ngx_rbtree_insert(&shm->objs, &o->node);

        if (ho.flags & NGX_HOTLINE_HO_QUEUED) {
            if (queued) {
                o->ticket = ho.ticket;
                queued[nq++] = o;

            } else {
                ngx_http_hotline_shm_enqueue(o, ho.ticket);
            }
        }

        if ((ho.flags & NGX_HOTLINE_HO_TIMED) && ho.timer > 0) {
            if (timed) {
                /* what it has left, until the timers are set */
                o->ext->deadline = (ngx_msec_t) ho.timer;
                timed[nt++] = o;

            } else {
                ngx_http_hotline_shm_timer(o, (ngx_msec_t) ho.timer);
            }
        }

        if (!(ho.flags & NGX_HOTLINE_HO_INBOX)) {
            continue;
        }

        if ((size_t) (last - p) < sizeof(hi)) {
            goto bad;
        }

        ngx_memcpy(&hi, p, sizeof(hi));
        p += sizeof(hi);

        if (hi.delivered > hi.last || hi.last > NGX_HOTLINE_SEQ_MAX) {
            goto bad;
        }

        ib = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                    sizeof(ngx_http_hotline_shm_inbox_t));
        if (ib == NULL) {
            goto nomem;
        }

        ib->last = hi.last;
        ib->delivered = hi.delivered;
        ib->replayed = (uint32_t) hi.delivered;

        /*
         * a consumer of the old zone: none here, which the next due()
         * finds and lets go (the grace period starts)
         */
        ib->owner = (ho.flags & NGX_HOTLINE_HO_OWNED) ? -1 : 0;

        o->inbox = ib;

        switch (ngx_http_hotline_handoff_body_msgs(ib, &hi, &p, last)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            goto bad;

        default:
            goto nomem;
        }

        /*
         * a replay runs from delivered over the messages kept (its end is
         * kept as its low 32 bits: ngx_http_hotline_shm_replayed()); one
         * that does not is over
         */

        if (hi.replayed > hi.delivered && hi.replayed <= hi.last
            && hi.replayed - hi.delivered <= ib->kept)
        {
            ib->replayed = (uint32_t) hi.replayed;
        }
    }

    if (h->next_ticket > shm->next_ticket) {
        shm->next_ticket = h->next_ticket;
    }

    if (h->next_gen > shm->next_gen) {
        shm->next_gen = h->next_gen;
    }

    goto done;

bad:

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "hotline: the handoff file is malformed at object %uL: "
                  "what came before it is taken", i);
    rc = NGX_ERROR;
    goto done;

nomem:

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "hotline: no room in the zone for the calls of the last "
                  "run (object %uL of %uL): the rest is lost", i, h->objects);
    rc = NGX_ERROR;

done:

    if (queued) {
        ngx_qsort(queued, (size_t) nq, sizeof(ngx_http_hotline_shm_obj_t *),
                  ngx_http_hotline_handoff_body_by_ticket);

        for (i = 0; i < nq; i++) {
            ngx_http_hotline_shm_enqueue(queued[i], queued[i]->ticket);
        }

        ngx_qsort(timed, (size_t) nt, sizeof(ngx_http_hotline_shm_obj_t *),
                  ngx_http_hotline_handoff_body_by_left);

        for (i = 0; i < nt; i++) {
            ngx_http_hotline_shm_timer(timed[i], timed[i]->ext->deadline);
        }

        ngx_free(queued);
    }

    return rc;
}


static int ngx_libc_cdecl
ngx_http_hotline_handoff_body_by_ticket(const void *one, const void *two)
{
    ngx_http_hotline_shm_obj_t  *a = *(ngx_http_hotline_shm_obj_t **) one;
    ngx_http_hotline_shm_obj_t  *b = *(ngx_http_hotline_shm_obj_t **) two;

    return (a->ticket > b->ticket) - (a->ticket < b->ticket);
}


static int ngx_libc_cdecl
ngx_http_hotline_handoff_body_by_left(const void *one, const void *two)
{
    ngx_http_hotline_shm_obj_t  *a = *(ngx_http_hotline_shm_obj_t **) one;
    ngx_http_hotline_shm_obj_t  *b = *(ngx_http_hotline_shm_obj_t **) two;

    return (a->ext->deadline > b->ext->deadline)
           - (a->ext->deadline < b->ext->deadline);
}


/*
 * An inbox's messages, after its head hi, into its ring: seq hi->last -
 * hi->msgs + 1 to hi->last, in order.  NGX_DECLINED: malformed, NGX_ERROR:
 * no memory; either way the inbox keeps none of them.
 */

static ngx_int_t
ngx_http_hotline_handoff_body_msgs(ngx_http_hotline_shm_inbox_t *ib,
    ngx_http_hotline_handoff_inbox_t *hi, u_char **pp, u_char *last)
{
    u_char                          *p;
    uint64_t                         k, first;
    ngx_int_t                        rc;
    ngx_http_hotline_shm_slot_t     *m;
    ngx_http_hotline_handoff_msg_t   hm;

    p = *pp;

    if (hi->msgs == 0) {
        return NGX_OK;
    }

    /* each message takes its head at least: a count the file can hold */

    if (hi->msgs > hi->last || hi->msgs > NGX_HOTLINE_INBOX_KEPT_MAX
        || hi->msgs > (uint64_t) (last - p) / sizeof(hm))
    {
        return NGX_DECLINED;
    }

    ib->nslots = ngx_http_hotline_shm_slots_for((ngx_uint_t) hi->msgs);
    ib->slots = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                                  ib->nslots
                                  * sizeof(ngx_http_hotline_shm_slot_t));
    if (ib->slots == NULL) {
        ib->nslots = 0;
        return NGX_ERROR;
    }

    first = hi->last - hi->msgs + 1;
    rc = NGX_OK;

    for (k = 0; k < hi->msgs; k++) {

        if ((size_t) (last - p) < sizeof(hm)) {
            rc = NGX_DECLINED;
            break;
        }

        ngx_memcpy(&hm, p, sizeof(hm));
        p += sizeof(hm);

        if (hm.len > (uint64_t) (last - p)
            || ngx_align(hm.len, 8) > (uint64_t) (last - p)
            || hm.seq != first + k
            || ib->bytes + hm.len > NGX_HOTLINE_INBOX_BYTES_MAX)
        {
            rc = NGX_DECLINED;
            break;
        }

        m = ngx_http_hotline_shm_slot(ib, hm.seq);

        m->data = ngx_slab_alloc_locked(ngx_http_hotline_shpool, hm.len);
        if (m->data == NULL) {
            rc = NGX_ERROR;
            break;
        }

        m->len = (uint32_t) hm.len;
        ngx_memcpy(m->data, p, hm.len);
        ib->bytes += (uint32_t) hm.len;

        p += ngx_align(hm.len, 8);
    }

    if (rc == NGX_OK) {
        ib->kept = (uint32_t) hi->msgs;
        *pp = p;
        return NGX_OK;
    }

    while (k--) {
        ngx_slab_free_locked(ngx_http_hotline_shpool,
                             ngx_http_hotline_shm_slot(ib, first + k)->data);
    }

    ngx_http_hotline_shm_slots_give(ib, NULL, 0);
    ib->bytes = 0;

    return rc;
}


/* past an inbox not taken; NULL: malformed */

static u_char *
ngx_http_hotline_handoff_body_skip(u_char *p, u_char *last)
{
    uint64_t                           k;
    ngx_http_hotline_handoff_msg_t     hm;
    ngx_http_hotline_handoff_inbox_t   hi;

    if ((size_t) (last - p) < sizeof(hi)) {
        return NULL;
    }

    ngx_memcpy(&hi, p, sizeof(hi));
    p += sizeof(hi);

    for (k = 0; k < hi.msgs; k++) {

        if ((size_t) (last - p) < sizeof(hm)) {
            return NULL;
        }

        ngx_memcpy(&hm, p, sizeof(hm));
        p += sizeof(hm);

        if (hm.len > (uint64_t) (last - p)
            || ngx_align(hm.len, 8) > (uint64_t) (last - p))
        {
            return NULL;
        }

        p += ngx_align(hm.len, 8);
    }

    return p;
}
