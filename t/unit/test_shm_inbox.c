
/*
 * Copyright (C) hotline authors
 */


/*
 * Unit tests for the embedded store's inbox (ngx_http_hotline_store_shm_
 * objs.h): it takes a 64-byte slab chunk, the seq a replay runs to reads
 * back from its low half on both sides of every 2^32 boundary, and an
 * attach's 29-bit number wraps without ever being 0; a queued party's
 * object fits a 128-byte chunk; its ring of kept messages gives each
 * seq's message back through appends, drops and growth, wrapped or not,
 * against a plain list of them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hotline_store_shm_objs.h"
#include "ngx_hotline_tap.h"
#include <stdlib.h>


ngx_http_hotline_shm_t  *ngx_http_hotline_shm;


/* the replay's end, kept as ngx_http_hotline_shm_attach() keeps it */

static uint64_t
t_replayed(uint64_t delivered, uint64_t replayed)
{
    ngx_http_hotline_shm_inbox_t  ib;

    ngx_memzero(&ib, sizeof(ngx_http_hotline_shm_inbox_t));

    ib.delivered = delivered;
    ib.replayed = (uint32_t) replayed;

    return ngx_http_hotline_shm_replayed(&ib);
}


/* the message a seq's slot holds in the model: made of the seq */

static u_char *
t_data(uint64_t seq)
{
    return (u_char *) (uintptr_t) (seq * 2654435761u + 1);
}


/*
 * Random appends, drops from the head and rings grown as the store grows
 * them, from seq base on; after each step every kept seq's slot must give
 * its message and length.  The number of wrong reads is returned.
 */

static ngx_uint_t
t_ring(uint64_t base, ngx_uint_t steps, uint32_t *largest)
{
    uint64_t                       s, first;
    ngx_uint_t                     i, k, bad;
    ngx_http_hotline_shm_slot_t   *slots, *old;
    ngx_http_hotline_shm_inbox_t   ib;

    ngx_memzero(&ib, sizeof(ngx_http_hotline_shm_inbox_t));
    ib.last = base;
    first = base + 1;
    bad = 0;

    for (i = 0; i < steps; i++) {

        if (random() % 3) {
            /* an append: a larger ring first if it is full */

            if (ib.kept + 1 > ib.nslots) {
                k = ngx_http_hotline_shm_slots_for(ib.kept + 1);
                slots = malloc(k * sizeof(ngx_http_hotline_shm_slot_t));
                if (slots == NULL) {
                    return steps;
                }

                old = ngx_http_hotline_shm_slots_move(&ib, slots,
                                                      (uint32_t) k);
                free(old);
            }

            s = ++ib.last;
            ngx_http_hotline_shm_slot(&ib, s)->data = t_data(s);
            ngx_http_hotline_shm_slot(&ib, s)->len = (uint32_t) (s % 977);
            ib.kept++;

        } else {
            /* the oldest few let go */
            k = random() % 4;

            while (k-- && ib.kept) {
                ib.kept--;
                first++;
            }
        }

        if (ngx_http_hotline_shm_first(&ib) != first) {
            bad++;
        }

        for (s = first; s != ib.last + 1; s++) {
            if (ngx_http_hotline_shm_slot(&ib, s)->data != t_data(s)
                || ngx_http_hotline_shm_slot(&ib, s)->len != s % 977)
            {
                bad++;
            }
        }

        if (ib.nslots > *largest) {
            *largest = ib.nslots;
        }
    }

    free(ib.slots);

    return bad;
}


int
main(void)
{
    uint32_t                       gen, prev, largest;
    uint64_t                       base, d, gap;
    ngx_uint_t                     i, j, bad;
    ngx_http_hotline_shm_t         shm;
    ngx_http_hotline_shm_inbox_t   ib;

    static const uint64_t  bases[] = {
        0, 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff,
        0x100000000, 0x1fffffffe, 0x123456789abcdef0, 0xffffffff00000001
    };

    static const uint64_t  gaps[] = {
        0, 1, 2, 1000, 0xffff, 0x10000, 0x7ffffffe, 0x7fffffff
    };

    ok(sizeof(ngx_http_hotline_shm_inbox_t) == 64,
       "an inbox is 64 bytes (%zu): a 64-byte slab chunk",
       sizeof(ngx_http_hotline_shm_inbox_t));

    ok(NGX_HOTLINE_INBOX_BYTES_MAX <= 0xffffffff - 16 * 1024 * 1024,
       "the bytes' bound and one message more fit 32 bits");

    /* bytes: the largest the bound lets in */
    ngx_memzero(&ib, sizeof(ngx_http_hotline_shm_inbox_t));
    ib.bytes = NGX_HOTLINE_INBOX_BYTES_MAX;
    ok(ib.bytes == NGX_HOTLINE_INBOX_BYTES_MAX, "bytes holds its bound");

    ib.gen = NGX_HOTLINE_INBOX_GEN_MASK;
    ib.notified = 1;
    ib.slow = 1;
    ib.busy = 1;
    ok(ib.gen == NGX_HOTLINE_INBOX_GEN_MASK && ib.notified && ib.slow
       && ib.busy, "the number's 29 bits and the three flags hold together");

    ib.gen = 0;
    ok(ib.gen == 0 && ib.notified && ib.slow && ib.busy,
       "clearing the number leaves the flags");

    /* a replay ahead of, at and behind what was delivered */

    bad = 0;

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        for (j = 0; j < sizeof(gaps) / sizeof(gaps[0]); j++) {
            base = bases[i];
            gap = gaps[j];

            if (base + gap >= base && t_replayed(base, base + gap)
                                      != base + gap)
            {
                diag("delivered %llx, replay to %llx: read back %llx",
                     (unsigned long long) base,
                     (unsigned long long) (base + gap),
                     (unsigned long long) t_replayed(base, base + gap));
                bad++;
            }

            if (base >= gap && t_replayed(base, base - gap) != base - gap) {
                diag("delivered %llx, replay to %llx: read back %llx",
                     (unsigned long long) base,
                     (unsigned long long) (base - gap),
                     (unsigned long long) t_replayed(base, base - gap));
                bad++;
            }
        }
    }

    ok(bad == 0, "the replay's end reads back within 2^31 of delivered, "
       "across 2^32 boundaries (%u wrong)", (unsigned) bad);

    ok(t_replayed(0x100000005, 0xfffffffe) == 0xfffffffe,
       "a replay to just below 2^32 with delivered just above it");

    ok(t_replayed(0xfffffffe, 0x100000005) == 0x100000005,
       "a replay to just above 2^32 with delivered just below it");

    /* delivered reaching the replay's end: "caught up" */

    d = 0xfffffffff0;
    ok(!(d < t_replayed(d, d)), "delivered at the replay's end: not replaying");
    ok(d < t_replayed(d, d + 1), "one behind the replay's end: replaying");
    ok(!(d + 1 < t_replayed(d + 1, d)),
       "one past the replay's end: not replaying");

    /* the attach's number */

    ngx_memzero(&shm, sizeof(ngx_http_hotline_shm_t));
    ngx_http_hotline_shm = &shm;

    gen = ngx_http_hotline_shm_next_gen(&shm);
    ok(gen == 1 && shm.next_gen == 1, "the first attach is number 1");

    shm.next_gen = NGX_HOTLINE_INBOX_GEN_MASK - 1;
    gen = ngx_http_hotline_shm_next_gen(&shm);
    ok(gen == NGX_HOTLINE_INBOX_GEN_MASK, "the largest number (%u)",
       (unsigned) gen);

    gen = ngx_http_hotline_shm_next_gen(&shm);
    ok(gen == 1 && shm.next_gen == (uint64_t) NGX_HOTLINE_INBOX_GEN_MASK + 2,
       "after it comes 1, not 0 (%u)", (unsigned) gen);

    shm.next_gen = 0xffffffffffffffffULL;
    gen = ngx_http_hotline_shm_next_gen(&shm);
    ok(gen == 1, "the 64-bit counter's wrap gives 1 as well (%u)",
       (unsigned) gen);

    bad = 0;
    shm.next_gen = 5 * ((uint64_t) NGX_HOTLINE_INBOX_GEN_MASK + 1) - 1000;
    prev = 0;

    for (i = 0; i < 2000; i++) {
        gen = ngx_http_hotline_shm_next_gen(&shm);

        ib.gen = gen;

        if (gen == 0 || gen > NGX_HOTLINE_INBOX_GEN_MASK || ib.gen != gen
            || (prev && gen != prev + 1 && !(prev
                                             == NGX_HOTLINE_INBOX_GEN_MASK
                                             && gen == 1)))
        {
            bad++;
        }

        prev = gen;
    }

    ok(bad == 0, "2,000 attaches across a wrap: each fits the field, "
       "none is 0, each follows the last (%u wrong)", (unsigned) bad);

    /* the ring of kept messages */

    ok(ngx_http_hotline_shm_slots_for(0) == NGX_HOTLINE_INBOX_SLOTS_MIN
       && ngx_http_hotline_shm_slots_for(4) == 4
       && ngx_http_hotline_shm_slots_for(5) == 8
       && ngx_http_hotline_shm_slots_for(1025) == 2048
       && ngx_http_hotline_shm_slots_for(NGX_HOTLINE_INBOX_KEPT_MAX)
          == NGX_HOTLINE_INBOX_KEPT_MAX,
       "a ring for n messages: the least power of 2 from 4 that holds them");

    ngx_memzero(&ib, sizeof(ngx_http_hotline_shm_inbox_t));
    ib.last = 41;
    ok(ngx_http_hotline_shm_first(&ib) == 42,
       "none kept: the first seq is the next one");

    srandom(64);
    bad = 0;
    largest = 0;

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        bad += t_ring(bases[i], 3000, &largest);
    }

    ok(bad == 0 && largest >= 512,
       "3,000 appends and drops from each of %u seqs, through rings grown "
       "while wrapped (to %u slots): each kept seq gives its message "
       "(%u wrong)", (unsigned) i, (unsigned) largest, (unsigned) bad);

    /* the objects beside it (a 128-byte chunk, a 64-byte extension) */

    ok(offsetof(ngx_http_hotline_shm_obj_t, key) + 17 <= 128,
       "an object with a party's key as kept (17 bytes) and its place in "
       "the queue fits a 128-byte slab chunk (%zu)",
       offsetof(ngx_http_hotline_shm_obj_t, key) + 17);

    ok(sizeof(ngx_http_hotline_shm_ext_t) <= 64,
       "an object's extension (timer, counter) fits 64 bytes (%zu)",
       sizeof(ngx_http_hotline_shm_ext_t));

    /* a lookup's check of a key kept as 17 bytes */

    bad = 0;
    srandom(16);

    for (i = 0; i < 20000; i++) {
        u_char  bytes[16], hex[33];

        for (j = 0; j < 16; j++) {
            bytes[j] = (u_char) random();
        }

        for (j = 0; j < 16; j++) {
            snprintf((char *) &hex[2 * j], 3, "%02x", bytes[j]);
        }

        if (!ngx_http_hotline_shm_spells(hex, bytes)) {
            bad++;
        }

        /* one digit off, or in uppercase: another key */
        j = random() % 32;
        hex[j] = (hex[j] >= 'a') ? (u_char) (hex[j] - 32)
                                 : (hex[j] == '9' ? 'a' : hex[j] + 1);

        if (ngx_http_hotline_shm_spells(hex, bytes)) {
            bad++;
        }
    }

    ok(bad == 0, "32 hex digits against 16 bytes: 20,000 spellings match, "
       "the same with one digit changed do not (%u wrong)", (unsigned) bad);

    return ngx_tap_done();
}
