
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_SHM_OBJS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_SHM_OBJS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


/*
 * The embedded store's state in the zone (ngx_http_hotline_store_shm.c,
 * its objects ngx_http_hotline_store_shm_objs.c): objects by key, each
 * with a record, a place in the queue, a timer, a counter or an inbox of
 * numbered messages.
 */

/*
 * A kept message: its bytes, a slab chunk of their own, and their length.
 * An inbox keeps its messages in a ring of these by seq, so that letting
 * messages go (ngx_http_hotline_shm_forget()) reads the ring, which its
 * appends keep warm, and not each message, long out of the cache by the
 * time its client says that it read it.
 */

typedef struct {
    u_char                        *data;
    uint32_t                       len;
} ngx_http_hotline_shm_slot_t;


/* messages an inbox keeps at most, so that its ring stays 256 MB */
#define NGX_HOTLINE_INBOX_KEPT_MAX   (16 * 1024 * 1024)
#define NGX_HOTLINE_INBOX_SLOTS_MIN  4


/*
 * A party's inbox: 64 bytes, a slab chunk of its own.  The seq a replay
 * runs to is kept as its low 32 bits: it is never further than the kept
 * messages from "delivered" (ngx_http_hotline_shm_replayed()); "bytes"
 * is bounded by NGX_HOTLINE_INBOX_BYTES_MAX and the attach's number by
 * its 29 bits (it wraps, skipping 0: two attaches of one inbox 2^29
 * apart are never both alive).
 */

#define NGX_HOTLINE_INBOX_BYTES_MAX  (1024 * 1024 * 1024)
#define NGX_HOTLINE_INBOX_GEN_MASK   0x1fffffff

typedef struct {
    ngx_http_hotline_shm_slot_t   *slots;      /* a ring by seq; NULL: none
                                                  kept nor coming */
    uint32_t                       nslots;     /* a power of 2, or 0 */
    uint32_t                       kept;       /* seq last - kept + 1 to
                                                  last */
    uint64_t                       last;       /* the last seq given */
    uint64_t                       delivered;
    uint64_t                       read;       /* the client read to */
    void                          *local;      /* valid in owner only */
    ngx_pid_t                      owner;      /* 0: no consumer */
    uint32_t                       bytes;
    uint32_t                       replayed;   /* a replay runs to here */
    uint32_t                       gen:29;     /* the consumer's attach */
    uint32_t                       notified:1;
    uint32_t                       slow:1;
    uint32_t                       busy:1;     /* an append was refused */
} ngx_http_hotline_shm_inbox_t;


typedef struct ngx_http_hotline_shm_obj_s  ngx_http_hotline_shm_obj_t;

/*
 * What few objects need (a timed party, a counter), beside the object:
 * made in a transaction's check() the first time one is needed, freed
 * with the object.
 */
typedef struct {
    ngx_queue_t                    timer;      /* by deadline */
    ngx_msec_t                     deadline;
    int64_t                        number;
    ngx_http_hotline_shm_obj_t    *obj;
} ngx_http_hotline_shm_ext_t;


/*
 * An object: 105 bytes and its key as kept, so that one with a party's
 * or a call's key (17 bytes as kept: ngx_http_hotline_shm_key_pack())
 * fits a 128-byte slab chunk with its place in the queue.
 */
struct ngx_http_hotline_shm_obj_s {
    ngx_rbtree_node_t              node;       /* key: hash of the key */
    ngx_queue_t                    queue;      /* queued, by ticket */
    uint64_t                       ticket;
    uint64_t                       version;
    ngx_http_hotline_shm_inbox_t  *inbox;
    ngx_http_hotline_shm_ext_t    *ext;        /* NULL: none yet */
    u_char                        *value;
    uint32_t                       len;        /* <= NGX_HOTLINE_VALUE_MAX,
                                                  or a handoff's */
    unsigned                       queued:1;
    unsigned                       timed:1;
    unsigned                       counter:1;
    u_char                         key_len;    /* as kept */
    u_char                         key[1];
};


typedef struct {
    ngx_rbtree_t                   objs;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    queue;
    ngx_queue_t                    timers;
    ngx_uint_t                     queued;
    uint64_t                       next_ticket;
    uint64_t                       next_gen;
    uint64_t                       freed;      /* objects taken out of the
                                                  tree: a worker's cache of
                                                  lookups holds until then */
    unsigned                       pending:1;  /* calls of an older
                                                  generation to come */
} ngx_http_hotline_shm_t;


extern ngx_http_hotline_shm_t  *ngx_http_hotline_shm;

/* these run with the zone locked */
ngx_http_hotline_shm_obj_t *ngx_http_hotline_shm_find(ngx_str_t *key);
void ngx_http_hotline_shm_found_clear(void);
ngx_http_hotline_shm_obj_t *ngx_http_hotline_shm_new(ngx_str_t *key);
ngx_http_hotline_shm_ext_t *ngx_http_hotline_shm_ext_alloc(void);
void ngx_http_hotline_shm_ext_give(ngx_http_hotline_shm_obj_t *o,
    ngx_http_hotline_shm_ext_t **ext);

/* a timer needs o->ext */
void ngx_http_hotline_shm_timer(ngx_http_hotline_shm_obj_t *o,
    ngx_msec_t in);
void ngx_http_hotline_shm_enqueue(ngx_http_hotline_shm_obj_t *o,
    uint64_t ticket);

/* o's key as the model spells it: its length, a copy at dst */
size_t ngx_http_hotline_shm_key_len(ngx_http_hotline_shm_obj_t *o);
u_char *ngx_http_hotline_shm_key(u_char *dst, ngx_http_hotline_shm_obj_t *o);

/* the kept message of seq s, first(ib) <= s <= ib->last */

static ngx_inline ngx_http_hotline_shm_slot_t *
ngx_http_hotline_shm_slot(ngx_http_hotline_shm_inbox_t *ib, uint64_t s)
{
    return &ib->slots[s & (ib->nslots - 1)];
}


/* the seq of the oldest message kept; last + 1: none */

static ngx_inline uint64_t
ngx_http_hotline_shm_first(ngx_http_hotline_shm_inbox_t *ib)
{
    return ib->last - ib->kept + 1;
}


/* the slots of a ring for n messages: a power of 2 */

static ngx_inline uint32_t
ngx_http_hotline_shm_slots_for(ngx_uint_t n)
{
    uint32_t  size;

    size = NGX_HOTLINE_INBOX_SLOTS_MIN;

    while (size < n) {
        size *= 2;
    }

    return size;
}


/* ib's messages into slots, a ring of n; the ring they were in, returned */

static ngx_inline ngx_http_hotline_shm_slot_t *
ngx_http_hotline_shm_slots_move(ngx_http_hotline_shm_inbox_t *ib,
    ngx_http_hotline_shm_slot_t *slots, uint32_t n)
{
    uint64_t                      s, k;
    ngx_http_hotline_shm_slot_t  *old;

    s = ngx_http_hotline_shm_first(ib);

    for (k = 0; k < ib->kept; k++, s++) {
        slots[s & (n - 1)] = *ngx_http_hotline_shm_slot(ib, s);
    }

    old = ib->slots;

    ib->slots = slots;
    ib->nslots = n;

    return old;
}


/*
 * A message's chunk, asked into the cache for writing as soon as it is
 * allocated: nothing touched it since its last message was read, long
 * ago, and the copy into it, in the transaction's apply(), comes after
 * the other ops' checks.  Without this the copy waits for each line, and
 * the unlock after it for the stores.
 */

static ngx_inline void
ngx_http_hotline_shm_warm(u_char *p, size_t len)
{
#if defined(__GNUC__)
    u_char  *last;

    last = p + len;
    p = (u_char *) ((uintptr_t) p & ~((uintptr_t) NGX_CPU_CACHE_LINE - 1));

    for ( /* void */ ; p < last; p += NGX_CPU_CACHE_LINE) {
        __builtin_prefetch(p, 1, 3);
    }
#endif
}


/* the seq a replay runs to: within 2^31 of what was delivered */

static ngx_inline uint64_t
ngx_http_hotline_shm_replayed(ngx_http_hotline_shm_inbox_t *ib)
{
    return ib->delivered
           + (int64_t) (int32_t) (ib->replayed - (uint32_t) ib->delivered);
}


/* the next attach's number: 29 bits, never 0 */

static ngx_inline uint32_t
ngx_http_hotline_shm_next_gen(ngx_http_hotline_shm_t *shm)
{
    uint32_t  gen;

    do {
        gen = (uint32_t) (++shm->next_gen & NGX_HOTLINE_INBOX_GEN_MASK);
    } while (gen == 0);

    return gen;
}


/*
 * Whether 32 hex digits are the lowercase spelling of 16 bytes: how a
 * lookup (ngx_http_hotline_shm_find()) checks a key kept as 17 bytes
 * against its own, with SSE2 where there is (x86-64 always has it).
 */

static ngx_inline ngx_uint_t
ngx_http_hotline_shm_spells(u_char *hex, u_char *bytes)
{
#if defined(__SSE2__)

    __m128i  b, hi, lo, d1, d2, nibble, nine, zero, gap;

    nibble = _mm_set1_epi8(0x0f);
    nine = _mm_set1_epi8(9);
    zero = _mm_set1_epi8('0');
    gap = _mm_set1_epi8('a' - '0' - 10);

    b = _mm_loadu_si128((__m128i *) bytes);
    hi = _mm_and_si128(_mm_srli_epi16(b, 4), nibble);
    lo = _mm_and_si128(b, nibble);

    /* each byte's two digits in order: bytes 0-7, then 8-15 */
    d1 = _mm_unpacklo_epi8(hi, lo);
    d2 = _mm_unpackhi_epi8(hi, lo);

    /* a digit's character: '0' + v, and from 10 on 'a' - 10 + v */
    d1 = _mm_add_epi8(_mm_add_epi8(d1, zero),
                      _mm_and_si128(_mm_cmpgt_epi8(d1, nine), gap));
    d2 = _mm_add_epi8(_mm_add_epi8(d2, zero),
                      _mm_and_si128(_mm_cmpgt_epi8(d2, nine), gap));

    d1 = _mm_cmpeq_epi8(d1, _mm_loadu_si128((__m128i *) hex));
    d2 = _mm_cmpeq_epi8(d2, _mm_loadu_si128((__m128i *) (hex + 16)));

    return _mm_movemask_epi8(_mm_and_si128(d1, d2)) == 0xffff;

#else

    ngx_uint_t  i;

    static const u_char  digits[] = "0123456789abcdef";

    for (i = 0; i < 16; i++) {
        if (hex[2 * i] != digits[bytes[i] >> 4]
            || hex[2 * i + 1] != digits[bytes[i] & 0x0f])
        {
            return 0;
        }
    }

    return 1;

#endif
}


/*
 * A ring of n slots (a power of 2, at least ib->kept) for ib: its
 * messages move there, and its ring, if any, is freed (with the zone
 * locked); slots NULL and n 0, with none kept: ib goes without a ring
 */
void ngx_http_hotline_shm_slots_give(ngx_http_hotline_shm_inbox_t *ib,
    ngx_http_hotline_shm_slot_t *slots, uint32_t n);


/* the tree's insert function (ngx_rbtree_init()) */
void ngx_http_hotline_shm_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


#endif /* _NGX_HTTP_HOTLINE_STORE_SHM_OBJS_H_INCLUDED_ */
