
/*
 * Copyright (C) hotline authors
 */


/*
 * Unit tests for the numbers src/ngx_http_hotline_proto.c writes into
 * every message delivered: a message's seq and a chat line's ts, written
 * two digits at a time, the ts of the last line kept for the next.  Each
 * is checked against snprintf() on every number of up to five digits,
 * each power of ten and its neighbours, and random ones up to 2^64 - 1;
 * a ts kept is checked to follow a new ms, whatever the order.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hotline_proto.h"
#include "ngx_hotline_tap.h"


/* what proto_seq() and proto_ts() must write for v */

static int
t_same(uint64_t v, ngx_uint_t ts)
{
    char      want[64];
    u_char    buf[64], *last;
    size_t    n;

    if (ts) {
        n = (size_t) snprintf(want, sizeof(want), ",\"ts\":%llu",
                              (unsigned long long) v);
        last = ngx_http_hotline_proto_ts(buf, v);

    } else {
        n = (size_t) snprintf(want, sizeof(want), ",\"seq\":%llu}",
                              (unsigned long long) v);
        last = ngx_http_hotline_proto_seq(buf, v);
    }

    if ((size_t) (last - buf) == n && memcmp(buf, want, n) == 0) {
        return 1;
    }

    printf("# %llu: \"%.*s\", not \"%s\"\n", (unsigned long long) v,
           (int) (last - buf), buf, want);

    return 0;
}


static uint64_t
t_random(uint64_t *s)
{
    /* xorshift64*: the test's own sequence, the same every run */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * 0x2545f4914f6cdd1dULL;
}


int
main(void)
{
    uint64_t    v, p, seed;
    ngx_uint_t  i, ts, bad;

    for (ts = 0; ts < 2; ts++) {
        bad = 0;

        for (v = 0; v < 100000; v++) {
            bad += !t_same(v, ts);
        }

        is((long long) bad, 0, ts ? "ts: 0 .. 99999" : "seq: 0 .. 99999");

        bad = 0;

        for (p = 10, i = 1; i < 20; i++, p *= 10) {
            bad += !t_same(p - 1, ts) + !t_same(p, ts) + !t_same(p + 1, ts);
        }

        bad += !t_same(0xffffffffffffffffULL, ts)
               + !t_same(0xffffffffffffffffULL - 1, ts);

        is((long long) bad, 0,
           ts ? "ts: powers of ten, their neighbours, 2^64 - 1"
              : "seq: powers of ten, their neighbours, 2^64 - 1");

        bad = 0;
        seed = 0x9e3779b97f4a7c15ULL;

        for (i = 0; i < 200000; i++) {
            v = t_random(&seed);
            /* every length: shifted right by 0 .. 63 bits */
            bad += !t_same(v >> (i % 64), ts);
        }

        is((long long) bad, 0, ts ? "ts: 200,000 random numbers of every length"
                              : "seq: 200,000 random numbers of every length");
    }

    /* the ts kept: the same ms again, another, and back */

    bad = !t_same(1796572275889ULL, 1) + !t_same(1796572275889ULL, 1)
          + !t_same(1796572275890ULL, 1) + !t_same(1796572275889ULL, 1)
          + !t_same(0, 1) + !t_same(0, 1) + !t_same(7, 1);

    is((long long) bad, 0, "ts: the digits kept follow each new ms");

    return ngx_tap_done();
}
