
/*
 * Copyright (C) hotline authors
 */


/*
 * Unit tests for src/ngx_http_hotline_ws_frame.c: RFC 6455 frame parser,
 * frame header encoder and UTF-8 checker.  Frames are built by hand here
 * (masking included) and fed whole, one byte at a time, and at every or
 * random split points; all feeds must give the same results.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdlib.h>
#include "ngx_http_hotline_ws_frame.h"
#include "ngx_hotline_tap.h"


#define T_FIN         0x80
#define T_RSV1        0x40
#define T_RSV2        0x20
#define T_RSV3        0x10

#define T_MAX_EVENTS  64
#define T_WHOLE       ((size_t) -1)
#define T_RANDOM      ((size_t) -2)


typedef struct {
    size_t       outstanding;      /* allocations not yet freed */
    size_t       bytes;            /* bytes allocated right now */
    size_t       largest;          /* largest single allocation */
    size_t       calls;
    size_t       fail_at;          /* fail this call (1-based), 0: never */
} t_alloc_t;


typedef struct {
    ngx_int_t    rc;
    ngx_uint_t   opcode;
    ngx_uint_t   close_code;
    ngx_uint_t   error_code;
    const char  *error;
    size_t       len;
    u_char      *data;
    size_t       at;               /* input offset after this result */
} t_event_t;


typedef struct {
    t_event_t    ev[T_MAX_EVENTS];
    ngx_uint_t   n;
    t_alloc_t    alloc;
} t_run_t;


static uint32_t  t_seed = 2463534242u;


static uint32_t
t_rand(void)
{
    t_seed ^= t_seed << 13;
    t_seed ^= t_seed >> 17;
    t_seed ^= t_seed << 5;

    return t_seed;
}


static void *
t_alloc(size_t size, void *data)
{
    t_alloc_t  *a;
    size_t     *p;

    a = data;
    a->calls++;

    if (a->fail_at && a->calls == a->fail_at) {
        return NULL;
    }

    p = malloc(size + sizeof(size_t) * 2);
    if (p == NULL) {
        return NULL;
    }

    p[0] = size;

    a->outstanding++;
    a->bytes += size;

    if (size > a->largest) {
        a->largest = size;
    }

    return p + 2;
}


static void
t_free(void *ptr, void *data)
{
    t_alloc_t  *a;
    size_t     *p;

    a = data;
    p = (size_t *) ptr - 2;

    a->outstanding--;
    a->bytes -= p[0];

    free(p);
}


static void
t_init(ngx_http_hotline_ws_parser_t *p, t_alloc_t *a, size_t max)
{
    ngx_memzero(p, sizeof(ngx_http_hotline_ws_parser_t));

    p->max_message = max;
    p->alloc = t_alloc;
    p->free = t_free;
    p->data = a;
}


/* a client frame: b0 is FIN|RSV|opcode, form forces the length encoding */

static size_t
t_frame(u_char *dst, ngx_uint_t b0, const void *data, size_t len,
    ngx_uint_t masked, ngx_uint_t form)
{
    u_char         *d, mask[4];
    size_t          i;
    uint64_t        n;
    const u_char   *s;

    d = dst;
    *d++ = (u_char) b0;

    if (form == 0) {
        form = len < 126 ? 0 : (len <= 0xffff ? 126 : 127);
    }

    if (form == 126) {
        *d++ = 126;
        *d++ = (u_char) (len >> 8);
        *d++ = (u_char) len;

    } else if (form == 127) {
        *d++ = 127;
        n = len;

        for (i = 0; i < 8; i++) {
            d[7 - i] = (u_char) n;
            n >>= 8;
        }

        d += 8;

    } else {
        *d++ = (u_char) len;
    }

    if (masked) {
        dst[1] |= 0x80;

        for (i = 0; i < 4; i++) {
            mask[i] = (u_char) t_rand();
            *d++ = mask[i];
        }
    }

    s = data;

    for (i = 0; i < len; i++) {
        *d++ = masked ? s[i] ^ mask[i % 4] : s[i];
    }

    return d - dst;
}


/* a header only, with a raw 64-bit length */

static size_t
t_header64(u_char *dst, ngx_uint_t b0, uint64_t len)
{
    ngx_uint_t  i;

    dst[0] = (u_char) b0;
    dst[1] = 0x80 | 127;

    for (i = 0; i < 8; i++) {
        dst[9 - i] = (u_char) len;
        len >>= 8;
    }

    dst[10] = 1; dst[11] = 2; dst[12] = 3; dst[13] = 4;

    return 14;
}


static size_t
t_close(u_char *dst, ngx_uint_t code, const char *reason, size_t rlen)
{
    u_char  payload[NGX_HOTLINE_WS_MAX_CONTROL];

    payload[0] = (u_char) (code >> 8);
    payload[1] = (u_char) code;
    ngx_memcpy(payload + 2, reason, rlen);

    return t_frame(dst, T_FIN | NGX_HOTLINE_WS_OP_CLOSE, payload, rlen + 2,
                   1, 0);
}


static void
t_run_free(t_run_t *r)
{
    ngx_uint_t  i;

    for (i = 0; i < r->n; i++) {
        free(r->ev[i].data);
    }

    r->n = 0;
}


/*
 * feeds in chunks of `chunk` bytes (T_WHOLE: all at once, T_RANDOM:
 * random sizes), records every NGX_OK/NGX_ERROR, stops at the first error;
 * releases the parser at the end
 */

static void
t_run(t_run_t *r, u_char *in, size_t len, size_t max, size_t chunk)
{
    u_char                        *pos, *end, *last;
    size_t                         n;
    ngx_int_t                      rc;
    t_event_t                     *ev;
    ngx_http_hotline_ws_parser_t   p;

    ngx_memzero(r, sizeof(t_run_t));
    t_init(&p, &r->alloc, max);

    pos = in;
    end = in + len;

    while (pos < end) {

        if (chunk == T_WHOLE) {
            n = len;

        } else if (chunk == T_RANDOM) {
            n = 1 + t_rand() % ((t_rand() % 4 == 0) ? 300 : 8);

        } else {
            n = chunk;
        }

        last = (size_t) (end - pos) < n ? end : pos + n;

        for ( ;; ) {
            rc = ngx_http_hotline_ws_parse(&p, &pos, last);

            if (rc == NGX_AGAIN) {
                if (pos != last) {
                    r->n = 0;
                    diag("NGX_AGAIN with input left");
                    goto done;
                }

                break;
            }

            if (r->n == T_MAX_EVENTS) {
                goto done;
            }

            ev = &r->ev[r->n++];

            ev->rc = rc;
            ev->at = pos - in;

            if (rc == NGX_ERROR) {
                ev->error_code = p.error_code;
                ev->error = p.error;
                goto done;
            }

            ev->opcode = p.opcode;
            ev->len = p.len;
            ev->close_code = p.close_code;
            ev->data = malloc(p.len + 1);

            if (ev->data == NULL) {
                diag("out of memory");
                r->n--;
                goto done;
            }

            ngx_memcpy(ev->data, p.payload, p.len);

            if (pos == last) {
                break;
            }
        }
    }

done:

    ngx_http_hotline_ws_parser_release(&p);
}


static ngx_int_t
t_same(t_run_t *a, t_run_t *b)
{
    ngx_uint_t  i;

    if (a->n != b->n) {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (a->ev[i].rc != b->ev[i].rc
            || a->ev[i].opcode != b->ev[i].opcode
            || a->ev[i].close_code != b->ev[i].close_code
            || a->ev[i].error_code != b->ev[i].error_code
            || a->ev[i].error != b->ev[i].error
            || a->ev[i].len != b->ev[i].len
            || (a->ev[i].rc == NGX_OK && a->ev[i].at != b->ev[i].at)
            || (a->ev[i].len
                && ngx_memcmp(a->ev[i].data, b->ev[i].data, a->ev[i].len)))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * runs the input whole, byte by byte, in chunks of 2, 3 and 7, in chunks
 * of every size up to its length (short inputs) and with random splits:
 * all must agree (where *pos stops on NGX_ERROR is not compared); the
 * whole-input run is left in r
 */

static ngx_int_t
t_feed_all_ways(t_run_t *r, u_char *in, size_t len, size_t max)
{
    size_t      k, chunks[] = { 1, 2, 3, 7, T_RANDOM, T_RANDOM, T_RANDOM };
    t_run_t     other;
    ngx_int_t   same;
    ngx_uint_t  i;

    t_run(r, in, len, max, T_WHOLE);

    same = (r->alloc.outstanding == 0);

    for (i = 0; same && i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        t_run(&other, in, len, max, chunks[i]);

        same = t_same(r, &other) && other.alloc.outstanding == 0;
        t_run_free(&other);
    }

    /* chunks of every size: each split point is met */

    for (k = 1; same && len <= 600 && k < len; k++) {
        t_run(&other, in, len, max, k);

        same = t_same(r, &other) && other.alloc.outstanding == 0;
        t_run_free(&other);
    }

    return same;
}


static ngx_int_t
t_error(u_char *in, size_t len, size_t max, ngx_uint_t code, size_t *at)
{
    t_run_t    r;
    ngx_int_t  rc;

    rc = t_feed_all_ways(&r, in, len, max)
         && r.n > 0
         && r.ev[r.n - 1].rc == NGX_ERROR
         && r.ev[r.n - 1].error_code == code
         && r.ev[r.n - 1].error != NULL;

    if (rc && at) {
        *at = r.ev[r.n - 1].at;
    }

    if (!rc && r.n) {
        diag("events %u, last rc %d code %u", (unsigned) r.n,
             (int) r.ev[r.n - 1].rc, (unsigned) r.ev[r.n - 1].error_code);
    }

    t_run_free(&r);

    return rc;
}


/* ------------------------------------------------------------------ */
/* UTF-8                                                                */


static ngx_int_t
t_utf8(const void *s, size_t n)
{
    uint32_t  state;

    state = 0;

    return ngx_http_hotline_utf8_check(&state, (u_char *) s, n) == NGX_OK
           && state == 0;
}


/* independent, plain decoder used as the reference */

static ngx_int_t
t_utf8_ref(const u_char *s, size_t n)
{
    size_t    i, k, need;
    uint32_t  cp, min;

    i = 0;

    while (i < n) {

        if (s[i] < 0x80) {
            i++;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0) {
            need = 1; cp = s[i] & 0x1f; min = 0x80;

        } else if ((s[i] & 0xf0) == 0xe0) {
            need = 2; cp = s[i] & 0x0f; min = 0x800;

        } else if ((s[i] & 0xf8) == 0xf0) {
            need = 3; cp = s[i] & 0x07; min = 0x10000;

        } else {
            return 0;
        }

        if (n - i - 1 < need) {
            return 0;
        }

        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }

        i += need + 1;
    }

    return 1;
}


static size_t
t_utf8_encode(u_char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        d[0] = (u_char) (0xc0 | (cp >> 6));
        d[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        d[0] = (u_char) (0xe0 | (cp >> 12));
        d[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        d[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    d[0] = (u_char) (0xf0 | (cp >> 18));
    d[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    d[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    d[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}


/* index of the byte on which the checker fails, fed one byte at a time */

static ngx_int_t
t_utf8_fail_at(const char *s, size_t n)
{
    size_t    i;
    uint32_t  state;

    state = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_hotline_utf8_check(&state, (u_char *) s + i, 1)
            != NGX_OK)
        {
            return (ngx_int_t) i;
        }
    }

    return -1;
}


static void
t_test_utf8(void)
{
    u_char      b[8], big[4096];
    size_t      i, k, n, bad;
    uint32_t    cp, state, s2;
    ngx_int_t   rc;

    static const struct {
        const char  *s;
        size_t       len;
        ngx_int_t    valid;
        const char  *name;
    } cases[] = {
        { "", 0, 1, "empty" },
        { "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1",
          21, 1, "latin-1 range" },
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 1, "greek" },
        { "\xe2\x82\xac", 3, 1, "euro sign" },
        { "\xf0\x9f\x98\x80", 4, 1, "emoji" },
        { "\xef\xbb\xbf", 3, 1, "BOM U+FEFF" },
        { "\xef\xbf\xbf", 3, 1, "U+FFFF noncharacter is valid" },
        { "\xf4\x8f\xbf\xbf", 4, 1, "U+10FFFF" },
        { "\xed\x9f\xbf", 3, 1, "U+D7FF" },
        { "\xee\x80\x80", 3, 1, "U+E000" },
        { "\xc0\x80", 2, 0, "overlong NUL C0 80" },
        { "\xc1\xbf", 2, 0, "overlong C1 BF" },
        { "\xe0\x80\x80", 3, 0, "overlong E0 80 80" },
        { "\xe0\x9f\xbf", 3, 0, "overlong E0 9F BF" },
        { "\xf0\x80\x80\x80", 4, 0, "overlong F0 80 80 80" },
        { "\xf0\x8f\xbf\xbf", 4, 0, "overlong F0 8F BF BF" },
        { "\xed\xa0\x80", 3, 0, "surrogate U+D800" },
        { "\xed\xbf\xbf", 3, 0, "surrogate U+DFFF" },
        { "\xed\xa0\x80\xed\xb0\x80", 6, 0, "surrogate pair" },
        { "\xf4\x90\x80\x80", 4, 0, "U+110000" },
        { "\xf5\x80\x80\x80", 4, 0, "F5 lead" },
        { "\xff", 1, 0, "FF" },
        { "\xfe", 1, 0, "FE" },
        { "\x80", 1, 0, "lone continuation" },
        { "a\xbf" "b", 3, 0, "continuation after ASCII" },
        { "\xc2", 1, 0, "truncated 2-byte" },
        { "\xe2\x82", 2, 0, "truncated 3-byte" },
        { "\xf0\x9f\x98", 3, 0, "truncated 4-byte" },
        { "\xc2" "a", 2, 0, "missing continuation" },
        { "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
          "0123456789abcdef\xf0\x9f\x98\x80", 35, 1, "mixed long" },
        { "0123456789abcdef0123456789abcdef\xed\xa0\x80", 35, 0,
          "surrogate after ASCII run" }
    };

    static const struct {
        const char  *s;
        size_t       len;
        ngx_int_t    at;
    } fast[] = {
        { "\xc0\x80", 2, 0 },
        { "\xf5", 1, 0 },
        { "\x80", 1, 0 },
        { "\xe0\x80\x80", 3, 1 },
        { "\xed\xa0\x80", 3, 1 },
        { "\xf0\x8f\x80\x80", 4, 1 },
        { "\xf4\x90\x80\x80", 4, 1 },
        { "\xe2\x82" "a", 3, 2 },
        { "abcdefghijklmnop\xff", 17, 16 }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(t_utf8(cases[i].s, cases[i].len) == cases[i].valid,
           "utf8: %s %s", cases[i].name,
           cases[i].valid ? "accepted" : "rejected");
    }

    for (i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
        is(t_utf8_fail_at(fast[i].s, fast[i].len), fast[i].at,
           "utf8: fails on the first impossible byte");
    }

    /* every split point of every case gives the same answer */

    bad = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (k = 0; k <= cases[i].len; k++) {
            state = 0;
            rc = ngx_http_hotline_utf8_check(&state, (u_char *) cases[i].s, k);

            if (rc == NGX_OK) {
                rc = ngx_http_hotline_utf8_check(&state,
                                                 (u_char *) cases[i].s + k,
                                                 cases[i].len - k);
            }

            if ((rc == NGX_OK && state == 0) != cases[i].valid) {
                bad++;
            }
        }
    }

    is(bad, 0, "utf8: same answer at every split point");

    /* the error state is sticky */

    state = 0;
    ngx_http_hotline_utf8_check(&state, (u_char *) "\xff", 1);
    rc = ngx_http_hotline_utf8_check(&state, (u_char *) "a", 1);
    is(rc, NGX_ERROR, "utf8: error state is sticky");

    state = 0;
    ngx_http_hotline_utf8_check(&state, (u_char *) "\xff", 1);
    rc = ngx_http_hotline_utf8_check(&state, (u_char *) "", 0);
    is(rc, NGX_ERROR, "utf8: error state is sticky on empty input");

    /* every code point: all valid but the surrogates */

    bad = 0;

    for (cp = 0; cp <= 0x10ffff; cp++) {
        n = t_utf8_encode(b, cp);

        if (t_utf8(b, n) != !(cp >= 0xd800 && cp <= 0xdfff)) {
            bad++;
        }
    }

    is(bad, 0, "utf8: every code point encoded, surrogates rejected");

    /* exhaustive against the reference for 1, 2 and 3 byte strings */

    bad = 0;

    for (i = 0; i < 256 + 65536 + 16777216; i++) {

        if (i < 256) {
            b[0] = (u_char) i;
            n = 1;

        } else if (i < 256 + 65536) {
            k = i - 256;
            b[0] = (u_char) (k >> 8);
            b[1] = (u_char) k;
            n = 2;

        } else {
            k = i - 256 - 65536;
            b[0] = (u_char) (k >> 16);
            b[1] = (u_char) (k >> 8);
            b[2] = (u_char) k;
            n = 3;
        }

        if (t_utf8(b, n) != t_utf8_ref(b, n)) {
            if (bad++ < 5) {
                diag("mismatch on %u bytes %02x %02x %02x", (unsigned) n,
                     b[0], b[1], b[2]);
            }
        }
    }

    is(bad, 0, "utf8: all 1, 2 and 3 byte strings match the reference");

    /* 4 byte sequences with lead F0-F7 and continuation-range tails */

    bad = 0;

    for (i = 0; i < 8 * 64 * 64 * 64; i++) {
        b[0] = (u_char) (0xf0 + (i >> 18));
        b[1] = (u_char) (0x80 + ((i >> 12) & 0x3f));
        b[2] = (u_char) (0x80 + ((i >> 6) & 0x3f));
        b[3] = (u_char) (0x80 + (i & 0x3f));

        if (t_utf8(b, 4) != t_utf8_ref(b, 4)) {
            bad++;
        }
    }

    for (i = 0; i < 2000000; i++) {
        cp = t_rand();
        ngx_memcpy(b, &cp, 4);
        cp = t_rand();
        ngx_memcpy(b + 4, &cp, 4);
        n = 1 + t_rand() % 8;

        if (t_utf8(b, n) != t_utf8_ref(b, n)) {
            bad++;
        }
    }

    is(bad, 0, "utf8: 4 byte and random strings match the reference");

    /* long buffers: the ASCII fast path must not skip a bad byte */

    bad = 0;

    for (i = 0; i < sizeof(big); i++) {
        big[i] = (u_char) ('a' + i % 26);
    }

    for (k = 0; k < 64; k++) {
        for (n = 0; n < 3; n++) {
            big[k] = (u_char) "\x80\xff\xc0"[n];

            state = 0;
            rc = ngx_http_hotline_utf8_check(&state, big, sizeof(big));

            s2 = 0;

            if (rc != NGX_ERROR
                || ngx_http_hotline_utf8_check(&s2, big + k + 1,
                                               sizeof(big) - k - 1)
                   != NGX_OK)
            {
                bad++;
            }

            big[k] = 'a';
        }
    }

    is(bad, 0, "utf8: bad byte at any offset of a long ASCII buffer");
}


/* ------------------------------------------------------------------ */
/* frame header encoder                                                 */


static void
t_test_encoder(void)
{
    u_char                         in[NGX_HOTLINE_WS_MAX_HEADER + 8];
    u_char                         payload[70000], *pos;
    size_t                         n, i, lens[] = { 0, 1, 125, 126, 127,
                                                    65535, 65536, 69999 };
    ngx_int_t                      rc;
    ngx_uint_t                     bad;
    t_alloc_t                      a;
    ngx_http_hotline_ws_parser_t   p;

    n = ngx_http_hotline_ws_frame_header(in, NGX_HOTLINE_WS_OP_TEXT, 5);
    ok(n == 2 && in[0] == 0x81 && in[1] == 5, "encoder: short text header");

    n = ngx_http_hotline_ws_frame_header(in, NGX_HOTLINE_WS_OP_BINARY, 256);
    ok(n == 4 && in[0] == 0x82 && in[1] == 126 && in[2] == 1 && in[3] == 0,
       "encoder: 16-bit length (RFC 6455 5.7 example, 256 bytes)");

    n = ngx_http_hotline_ws_frame_header(in, NGX_HOTLINE_WS_OP_BINARY, 65536);
    ok(n == 10 && in[0] == 0x82 && in[1] == 127
       && ngx_memcmp(in + 2, "\0\0\0\0\0\1\0\0", 8) == 0,
       "encoder: 64-bit length (RFC 6455 5.7 example, 64 KiB)");

    n = ngx_http_hotline_ws_frame_header(in, NGX_HOTLINE_WS_OP_CLOSE, 2);
    ok(n == 2 && in[0] == 0x88 && in[1] == 2, "encoder: close header");

    n = ngx_http_hotline_ws_frame_header(in, NGX_HOTLINE_WS_OP_TEXT,
                                         (size_t) 0x123456789aULL);
    ok(n == 10 && ngx_memcmp(in + 2, "\0\0\0\x12\x34\x56\x78\x9a", 8) == 0,
       "encoder: 40-bit length big-endian");

    /* round trip: the encoded header plus a mask parses back */

    bad = 0;

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (u_char) ('a' + i % 26);
    }

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        u_char  frame[sizeof(payload) + NGX_HOTLINE_WS_MAX_HEADER];

        n = ngx_http_hotline_ws_frame_header(frame, NGX_HOTLINE_WS_OP_TEXT,
                                             lens[i]);
        frame[1] |= 0x80;
        ngx_memzero(frame + n, 4);           /* zero mask: payload as is */
        ngx_memcpy(frame + n + 4, payload, lens[i]);

        ngx_memzero(&a, sizeof(t_alloc_t));
        t_init(&p, &a, sizeof(payload));

        pos = frame;
        rc = ngx_http_hotline_ws_parse(&p, &pos, frame + n + 4 + lens[i]);

        if (rc != NGX_OK || p.len != lens[i]
            || p.opcode != NGX_HOTLINE_WS_OP_TEXT
            || ngx_memcmp(p.payload, payload, lens[i]) != 0)
        {
            bad++;
        }

        ngx_http_hotline_ws_parser_release(&p);
    }

    is(bad, 0, "encoder: headers for 0..69999 bytes parse back");
}


/* ------------------------------------------------------------------ */
/* parser                                                               */


static void
t_test_basic(void)
{
    u_char                         in[4096], *pos;
    size_t                         n;
    t_run_t                        r;
    ngx_int_t                      rc;
    t_alloc_t                      a;
    ngx_http_hotline_ws_parser_t   p;

    /* RFC 6455 5.7: a single-frame masked text message "Hello" */

    static u_char  hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                               0x7f, 0x9f, 0x4d, 0x51, 0x58 };

    ok(t_feed_all_ways(&r, hello, sizeof(hello), 1024)
       && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].opcode == NGX_HOTLINE_WS_OP_TEXT
       && r.ev[0].len == 5 && ngx_memcmp(r.ev[0].data, "Hello", 5) == 0,
       "RFC 6455 5.7 masked \"Hello\"");
    t_run_free(&r);

    /* the RFC's unmasked "Hello" from a client */

    ok(t_error((u_char *) "\x81\x05Hello", 7, 1024,
               NGX_HOTLINE_WS_CLOSE_PROTOCOL, &n) && n == 2,
       "unmasked client frame -> 1002 on the second byte");

    /* several frames in one buffer: NGX_OK with bytes left, then again */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "one", 3, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_BINARY, "\0\1\2", 3, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PING, "p", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PONG, "", 0, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "", 0, 1, 0);

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);
    pos = in;

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_TEXT && p.len == 3
       && ngx_memcmp(p.payload, "one", 3) == 0 && pos < in + n,
       "first of several frames, input left");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_BINARY && p.len == 3
       && ngx_memcmp(p.payload, "\0\1\2", 3) == 0,
       "binary message, not UTF-8 checked");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_PING && p.len == 1
       && p.payload[0] == 'p', "ping with payload");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_PONG && p.len == 0,
       "empty pong");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_TEXT && p.len == 0
       && p.payload != NULL && pos == in + n, "empty text message");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    is(rc, NGX_AGAIN, "no input: NGX_AGAIN");

    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "release frees the message buffer");

    /* a non-minimal length encoding is accepted */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "abc", 3, 1, 127);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == 3, "3 bytes in a 64-bit length field");
    t_run_free(&r);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, "abc", 3, 1, 126);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == 3, "3 bytes in a 16-bit length field");
    t_run_free(&r);
}


static void
t_test_protocol_errors(void)
{
    u_char      in[512], big[200];
    size_t      n, at;
    t_run_t     r;
    ngx_uint_t  op, bad;

    static ngx_uint_t  rsv[] = { T_RSV1, T_RSV2, T_RSV3 };

    ngx_memset(big, 'x', sizeof(big));

    for (op = 0; op < 3; op++) {
        n = t_frame(in, T_FIN | rsv[op] | NGX_HOTLINE_WS_OP_TEXT, "a", 1,
                    1, 0);
        ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, &at)
           && at == 1, "RSV%u set -> 1002 on the first byte",
           (unsigned) op + 1);
    }

    n = t_frame(in, T_FIN | T_RSV1 | NGX_HOTLINE_WS_OP_PING, "", 0, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "RSV1 on a ping -> 1002");

    bad = 0;

    for (op = 0x3; op <= 0xf; op++) {
        if (op >= 0x8 && op <= 0xa) {
            continue;
        }

        n = t_frame(in, T_FIN | op, "a", 1, 1, 0);

        if (!t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, &at)
            || at != 1)
        {
            bad++;
        }
    }

    is(bad, 0, "opcodes 3-7 and B-F -> 1002 on the first byte");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "a", 1, 0, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "unmasked text frame -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_PING, "a", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "ping without FIN -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_PONG, "a", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "pong without FIN -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_CLOSE, "\x03\xe8", 2, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "close without FIN -> 1002");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_PING, big, 125, 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == 125, "ping of 125 bytes accepted");
    t_run_free(&r);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_PING, big, 126, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, &at) && at == 2,
       "ping of 126 bytes -> 1002 on the second byte");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_PONG, big, 5, 1, 126);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "pong with a 16-bit length -> 1002");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CLOSE, big, 127, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "close of 127 bytes -> 1002");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CONT, "a", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, &at) && at == 1,
       "continuation without a message -> 1002");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "a", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "b", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "continuation after a complete message -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "a", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "b", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "new text inside a fragmented text -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_BINARY, "a", 1, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_TEXT, "b", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "new text inside a fragmented binary -> 1002");

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "a", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_BINARY, "b", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "new binary inside a fragmented text -> 1002");

    n = t_header64(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY,
                   0x8000000000000000ULL);
    ok(t_error(in, n, (size_t) -1 / 2, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "64-bit length with the MSB set -> 1002");

    n = t_header64(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY,
                   0xffffffffffffffffULL);
    ok(t_error(in, n, (size_t) -1 / 2, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "64-bit length of all ones -> 1002");
}


static void
t_test_errors_sticky(void)
{
    u_char                        *pos;
    u_char                         in[64];
    size_t                         n;
    ngx_int_t                      rc;
    t_alloc_t                      a;
    ngx_http_hotline_ws_parser_t   p;

    n = t_frame(in, T_FIN | T_RSV2 | NGX_HOTLINE_WS_OP_TEXT, "a", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "b", 1, 1, 0);

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);
    pos = in;

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_ERROR && p.error_code == NGX_HOTLINE_WS_CLOSE_PROTOCOL
       && p.error != NULL, "error set");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_ERROR && p.error_code == NGX_HOTLINE_WS_CLOSE_PROTOCOL,
       "after an error the parser keeps failing");

    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "nothing left allocated");
}


static void
t_test_close(void)
{
    u_char      in[256];
    size_t      n, i;
    t_run_t     r;
    ngx_uint_t  bad;

    static ngx_uint_t  valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                   1010, 1011, 1012, 1013, 1014, 3000, 3999,
                                   4000, 4999 };

    static ngx_uint_t  invalid[] = { 0, 1, 999, 1004, 1005, 1006, 1015, 1016,
                                     1100, 2000, 2999, 5000, 5001, 65535 };

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CLOSE, "", 0, 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].opcode == NGX_HOTLINE_WS_OP_CLOSE
       && r.ev[0].close_code == NGX_HOTLINE_WS_CLOSE_NO_STATUS
       && r.ev[0].len == 0, "close without payload -> close_code 1005");
    t_run_free(&r);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CLOSE, "\x03", 1, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "close payload of 1 byte -> 1002");

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        n = t_close(in, valid[i], "", 0);
        ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1
           && r.ev[0].rc == NGX_OK && r.ev[0].close_code == valid[i]
           && r.ev[0].len == 0, "close code %u accepted",
           (unsigned) valid[i]);
        t_run_free(&r);
    }

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        n = t_close(in, invalid[i], "", 0);
        ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
           "close code %u -> 1002", (unsigned) invalid[i]);
    }

    /* the whole 0..65535 range against the rule */

    bad = 0;

    for (i = 0; i < 65536; i++) {
        ngx_int_t  want;

        want = (i >= 1000 && i <= 1003) || (i >= 1007 && i <= 1014)
               || (i >= 3000 && i <= 4999);

        n = t_close(in, i, "ok", 2);
        t_run(&r, in, n, 1024, T_WHOLE);

        if (r.n != 1
            || (want ? (r.ev[0].rc != NGX_OK || r.ev[0].close_code != i)
                     : (r.ev[0].rc != NGX_ERROR
                        || r.ev[0].error_code
                           != NGX_HOTLINE_WS_CLOSE_PROTOCOL)))
        {
            bad++;
        }

        t_run_free(&r);
    }

    is(bad, 0, "all 65536 close codes follow the rule");

    n = t_close(in, 1000, "bye \xe2\x82\xac", 7);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].close_code == 1000 && r.ev[0].len == 7
       && ngx_memcmp(r.ev[0].data, "bye \xe2\x82\xac", 7) == 0,
       "close reason is returned as payload, code in close_code");
    t_run_free(&r);

    n = t_close(in, 1000, "bad \xc0\x80", 6);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
       "close reason with an overlong -> 1007");

    n = t_close(in, 1000, "cut \xe2\x82", 6);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
       "close reason with truncated UTF-8 -> 1007");

    n = t_close(in, 1000, "\xed\xa0\x80", 3);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
       "close reason with a surrogate -> 1007");

    {
        char  reason[123];

        ngx_memset(reason, 'r', sizeof(reason));
        n = t_close(in, 4000, reason, sizeof(reason));
        ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1
           && r.ev[0].rc == NGX_OK && r.ev[0].len == 123,
           "close with the longest reason (123 bytes)");
        t_run_free(&r);
    }

    n = t_close(in, 1005, "", 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_PROTOCOL, NULL),
       "close code 1005 on the wire -> 1002");
}


static void
t_test_fragments(void)
{
    u_char      in[1024];
    size_t      n;
    t_run_t     r;

    /* RFC 6455 5.7: fragmented "Hel" "lo", here masked */

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "Hel", 3, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "lo", 2, 1, 0);

    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].opcode == NGX_HOTLINE_WS_OP_TEXT && r.ev[0].len == 5
       && ngx_memcmp(r.ev[0].data, "Hello", 5) == 0,
       "fragmented \"Hel\" \"lo\", every split");
    t_run_free(&r);

    /* three fragments, empty middle, ping and pong in between */

    n = t_frame(in, NGX_HOTLINE_WS_OP_BINARY, "abc", 3, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PING, "p1", 2, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_CONT, "", 0, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PONG, "p2", 2, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "def", 3, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "next", 4, 1, 0);

    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 4
       && r.ev[0].rc == NGX_OK && r.ev[0].opcode == NGX_HOTLINE_WS_OP_PING
       && r.ev[0].len == 2 && ngx_memcmp(r.ev[0].data, "p1", 2) == 0
       && r.ev[1].opcode == NGX_HOTLINE_WS_OP_PONG
       && ngx_memcmp(r.ev[1].data, "p2", 2) == 0
       && r.ev[2].opcode == NGX_HOTLINE_WS_OP_BINARY && r.ev[2].len == 6
       && ngx_memcmp(r.ev[2].data, "abcdef", 6) == 0
       && r.ev[3].opcode == NGX_HOTLINE_WS_OP_TEXT && r.ev[3].len == 4
       && ngx_memcmp(r.ev[3].data, "next", 4) == 0,
       "ping and pong between fragments are returned as they come");
    t_run_free(&r);

    /* a close in the middle of a fragmented message */

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "abc", 3, 1, 0);
    n += t_close(in + n, 1001, "", 0);

    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1
       && r.ev[0].opcode == NGX_HOTLINE_WS_OP_CLOSE
       && r.ev[0].close_code == 1001,
       "close between fragments is returned");
    t_run_free(&r);

    /* UTF-8 split across fragments */

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "\xe2", 1, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_CONT, "\x82", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PING, "", 0, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "\xac!", 2, 1, 0);

    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 2
       && r.ev[1].rc == NGX_OK && r.ev[1].len == 4
       && ngx_memcmp(r.ev[1].data, "\xe2\x82\xac!", 4) == 0,
       "euro sign split over three fragments with a ping between");
    t_run_free(&r);

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "\xf0\x9f", 2, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "\x98\x80", 2,
                 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1
       && r.ev[0].rc == NGX_OK && r.ev[0].len == 4,
       "4-byte sequence split in the middle");
    t_run_free(&r);

    /* fails fast: the error comes before the rest of the message */

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "ok \xed", 4, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_CONT, "\xa0\x80 and more", 11,
                 1, 0);
    {
        size_t  first, at;

        first = 2 + 4 + 4;

        ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, &at)
           && at == first + 6,
           "surrogate across fragments -> 1007 on its second byte");

        t_run(&r, in, first + 6 + 1, 1024, T_WHOLE);
        ok(r.n == 1 && r.ev[0].rc == NGX_ERROR
           && r.ev[0].error_code == NGX_HOTLINE_WS_CLOSE_BAD_DATA,
           "... without waiting for the rest of the fragment");
        t_run_free(&r);
    }

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "\xe2\x82", 2, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "", 0, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
       "message ends inside a sequence -> 1007");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "\xe2\x82", 2, 1, 0);
    ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
       "single frame ends inside a sequence -> 1007");

    {
        u_char  text[300];

        ngx_memset(text, 'a', sizeof(text));
        text[10] = 0xff;

        /* header: 2 bytes, 16-bit length, mask: the bad byte is at 18 */

        n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, text, sizeof(text),
                    1, 0);
        ok(t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL),
           "invalid byte in a 300 byte frame -> 1007");

        t_run(&r, in, n, 1024, 1);
        ok(r.n == 1 && r.ev[0].rc == NGX_ERROR
           && r.ev[0].error_code == NGX_HOTLINE_WS_CLOSE_BAD_DATA
           && r.ev[0].at == 18,
           "fed byte by byte it fails on the bad byte, not at the end");
        t_run_free(&r);

        t_run(&r, in, 19, 1024, T_WHOLE);
        ok(r.n == 1 && r.ev[0].rc == NGX_ERROR
           && r.ev[0].error_code == NGX_HOTLINE_WS_CLOSE_BAD_DATA,
           "fed up to the bad byte only it fails already");
        t_run_free(&r);
    }

    n = t_frame(in, NGX_HOTLINE_WS_OP_BINARY, "\xff", 1, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "\xfe", 1, 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1024) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == 2, "fragmented binary is not UTF-8 checked");
    t_run_free(&r);
}


static void
t_test_sizes(void)
{
    u_char      *in, *data;
    size_t       n, i, at, max;
    t_run_t      r;
    ngx_uint_t   bad;

    max = 1000;
    in = malloc(200000);
    data = malloc(150000);

    for (i = 0; i < 150000; i++) {
        data[i] = (u_char) t_rand();
    }

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, max, 1, 0);
    ok(t_feed_all_ways(&r, in, n, max) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == max && ngx_memcmp(r.ev[0].data, data, max) == 0
       && r.alloc.largest <= max,
       "message of exactly max_message bytes");
    t_run_free(&r);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, max + 1, 1, 0);
    ok(t_error(in, n, max, NGX_HOTLINE_WS_CLOSE_TOO_BIG, &at) && at == 8,
       "max_message + 1 -> 1009 right after the header");

    t_run(&r, in, 8, max, T_WHOLE);
    ok(r.n == 1 && r.ev[0].rc == NGX_ERROR
       && r.ev[0].error_code == NGX_HOTLINE_WS_CLOSE_TOO_BIG
       && r.alloc.calls == 0,
       "1009 from the header alone, nothing allocated");
    t_run_free(&r);

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "aaaaaaaaaa", 10, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_CONT, data, 0, 1, 0);
    {
        u_char  text[1000];

        ngx_memset(text, 'b', sizeof(text));

        n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, text, max - 10,
                     1, 0);
        ok(t_feed_all_ways(&r, in, n, max) && r.n == 1
           && r.ev[0].rc == NGX_OK && r.ev[0].len == max
           && r.alloc.largest <= max,
           "fragments adding up to exactly max_message");
        t_run_free(&r);

        n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "aaaaaaaaaa", 10, 1, 0);
        i = n;
        n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, text,
                     max - 9, 1, 0);
        ok(t_error(in, n, max, NGX_HOTLINE_WS_CLOSE_TOO_BIG, &at)
           && at == i + 8,
           "fragments adding up to max_message + 1 -> 1009 on the header");
    }

    n = t_header64(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, 1ULL << 62);
    ok(t_error(in, n, max, NGX_HOTLINE_WS_CLOSE_TOO_BIG, &at) && at == 14,
       "2^62 byte frame -> 1009 from the header");

    n = t_header64(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, (1ULL << 40) + 1);
    ok(t_error(in, n, (size_t) 1 << 40, NGX_HOTLINE_WS_CLOSE_TOO_BIG, NULL),
       "2^40 + 1 byte frame with max_message 2^40 -> 1009");

    n = t_header64(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, 1ULL << 40);
    ngx_memcpy(in + n, "abc", 3);
    n += 3;
    t_run(&r, in, n, (size_t) 1 << 40, T_WHOLE);
    ok(r.n == 0 && r.alloc.calls == 1 && r.alloc.largest == 256,
       "2^40 byte frame announced: memory follows the bytes received");
    t_run_free(&r);

    /* max_message of 1 byte */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "a", 1, 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.alloc.largest == 1, "max_message 1: one byte accepted");
    t_run_free(&r);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "ab", 2, 1, 0);
    ok(t_error(in, n, 1, NGX_HOTLINE_WS_CLOSE_TOO_BIG, NULL),
       "max_message 1: two bytes -> 1009");

    /* control frames do not count against max_message */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_PING, data, 100, 1, 0);
    ok(t_feed_all_ways(&r, in, n, 1) && r.n == 1 && r.ev[0].rc == NGX_OK
       && r.ev[0].len == 100, "ping larger than max_message is fine");
    t_run_free(&r);

    /* large message, 64-bit length, random splits: the unmask is exact */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, 150000, 1, 0);
    bad = 0;

    for (i = 0; i < 8; i++) {
        t_run(&r, in, n, 150000, i < 4 ? T_RANDOM : 4093 + i);

        if (r.n != 1 || r.ev[0].rc != NGX_OK || r.ev[0].len != 150000
            || ngx_memcmp(r.ev[0].data, data, 150000) != 0
            || r.alloc.largest > 150000 || r.alloc.outstanding != 0)
        {
            bad++;
        }

        t_run_free(&r);
    }

    is(bad, 0, "150000 byte message fed in random pieces unmasks exactly");

    /* growth is geometric: few allocations for a big message */

    t_run(&r, in, n, 150000, 1000);
    ok(r.n == 1 && r.alloc.calls <= 12 && r.alloc.largest == 150000,
       "buffer grows geometrically (%u allocations), capped at max",
       (unsigned) r.alloc.calls);
    t_run_free(&r);

    /* fragmented large message with 37 byte fragments */

    {
        size_t  off, m;

        n = 0;

        for (off = 0; off < 20000; off += m) {
            m = ngx_min(37, 20000 - off);
            n += t_frame(in + n,
                         (off == 0 ? NGX_HOTLINE_WS_OP_BINARY
                                   : NGX_HOTLINE_WS_OP_CONT)
                         | (off + m == 20000 ? T_FIN : 0),
                         data + off, m, 1, 0);
        }

        t_run(&r, in, n, 20000, T_RANDOM);
        ok(r.n == 1 && r.ev[0].rc == NGX_OK && r.ev[0].len == 20000
           && ngx_memcmp(r.ev[0].data, data, 20000) == 0
           && r.alloc.largest <= 20000,
           "541 fragments reassembled");
        t_run_free(&r);

        t_run(&r, in, n, 19999, T_WHOLE);
        ok(r.n == 1 && r.ev[0].rc == NGX_ERROR
           && r.ev[0].error_code == NGX_HOTLINE_WS_CLOSE_TOO_BIG,
           "the same with max_message one byte short -> 1009");
        t_run_free(&r);
    }

    free(in);
    free(data);
}


static void
t_test_memory(void)
{
    u_char                        *pos;
    u_char                         in[2048], data[1000];
    size_t                         n;
    ngx_int_t                      rc;
    t_alloc_t                      a;
    ngx_http_hotline_ws_parser_t   p;

    ngx_memset(data, 'm', sizeof(data));

    /* allocation failure -> 1011 */

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, data, 10, 1, 0);

    ngx_memzero(&a, sizeof(t_alloc_t));
    a.fail_at = 1;
    t_init(&p, &a, 1024);
    pos = in;

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_ERROR && p.error_code == NGX_HOTLINE_WS_CLOSE_INTERNAL,
       "allocation failure -> 1011");
    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "nothing leaked after an allocation failure");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, 1000, 1, 0);

    ngx_memzero(&a, sizeof(t_alloc_t));
    a.fail_at = 2;
    t_init(&p, &a, 1024);
    pos = in;

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + 300);
    rc = (rc == NGX_AGAIN) ? ngx_http_hotline_ws_parse(&p, &pos, in + n)
                           : NGX_OK;
    ok(rc == NGX_ERROR && p.error_code == NGX_HOTLINE_WS_CLOSE_INTERNAL
       && a.outstanding == 1, "failure while growing -> 1011, old kept");
    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "release frees it");

    /* the buffer is reused across messages, release and parse again */

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, 500, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_BINARY, data, 400, 1, 0);
    pos = in;

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    rc = (rc == NGX_OK) ? ngx_http_hotline_ws_parse(&p, &pos, in + n)
                        : NGX_ERROR;
    ok(rc == NGX_OK && p.len == 400 && a.outstanding == 1 && a.calls <= 2,
       "second message reuses the buffer");

    ngx_http_hotline_ws_parser_release(&p);
    ok(a.outstanding == 0 && p.payload == NULL,
       "release frees the buffer and drops the payload pointer");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "again", 5, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.len == 5 && ngx_memcmp(p.payload, "again", 5) == 0,
       "parser works after release");

    ngx_http_hotline_ws_parser_release(&p);
    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "release twice is harmless");

    /* release between fragments with no data held is harmless */

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "", 0, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ngx_http_hotline_ws_parser_release(&p);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CONT, "xy", 2, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.len == 2, "release with an empty open message");
    ngx_http_hotline_ws_parser_release(&p);

    /* release in the middle of a message loses data: the parser says so */

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "part", 4, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ngx_http_hotline_ws_parser_release(&p);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CONT, "xy", 2, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_ERROR && p.error_code == NGX_HOTLINE_WS_CLOSE_INTERNAL
       && a.outstanding == 0,
       "release with message data held -> 1011 on the next call");
    ngx_http_hotline_ws_parser_release(&p);

    /* a control frame's payload is held only until it is used */

    ngx_memzero(&a, sizeof(t_alloc_t));
    t_init(&p, &a, 1024);

    n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "ab", 2, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PING, "ping!", 5, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_PING && p.len == 5
       && ngx_memcmp(p.payload, "ping!", 5) == 0 && a.outstanding == 2,
       "a ping inside a message: its payload and the message's buffer");

    ngx_http_hotline_ws_parser_release_control(&p);
    ok(a.outstanding == 1 && p.payload == NULL,
       "release_control frees the ping's payload only");

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_CONT, "cd", 2, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.len == 4 && ngx_memcmp(p.payload, "abcd", 4) == 0,
       "the message goes on after release_control");
    ngx_http_hotline_ws_parser_release(&p);

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_PONG, "pong", 4, 1, 0);
    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + 4);
    ngx_http_hotline_ws_parser_release_control(&p);
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_PONG && p.len == 4
       && ngx_memcmp(p.payload, "pong", 4) == 0,
       "release_control keeps a control frame that is half read");
    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "release frees a control frame's payload");
}


/*
 * ngx_http_hotline_ws_parser_idle(): a connection keeps no parser between
 * reads when it is idle (src/ngx_http_hotline_ws.c), and one moved to
 * memory of its own when not.  Fed in reads of k bytes, the parser is
 * dropped for a zeroed one at every idle point and moved at every other:
 * the messages come out the same for every k.
 */

static void
t_test_idle(void)
{
    u_char                        *pos, *last;
    u_char                         in[128], got[64];
    size_t                         n, k, at, glen;
    ngx_int_t                      rc;
    ngx_uint_t                     k_ok, idles, msgs;
    t_alloc_t                      a;
    ngx_http_hotline_ws_parser_t   p, moved;

    n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, "hello", 5, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_PING, "p", 1, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_TEXT, "ab", 2, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "cd", 2, 1, 0);
    n += t_frame(in + n, NGX_HOTLINE_WS_OP_TEXT, "", 0, 1, 0);
    n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, "ef", 2, 1, 0);
    n += t_close(in + n, 1000, "", 0);

    ngx_memzero(&a, sizeof(t_alloc_t));

    t_init(&p, &a, 1024);
    ok(ngx_http_hotline_ws_parser_idle(&p), "a zeroed parser is idle");

    pos = in;
    rc = ngx_http_hotline_ws_parse(&p, &pos, in + 1);
    ok(rc == NGX_AGAIN && !ngx_http_hotline_ws_parser_idle(&p),
       "one byte of a header: not idle");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + 8);
    ok(rc == NGX_AGAIN && !ngx_http_hotline_ws_parser_idle(&p),
       "a header and part of the payload: not idle");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && !ngx_http_hotline_ws_parser_idle(&p),
       "a message delivered, its buffer held: not idle");

    ngx_http_hotline_ws_parser_release(&p);
    ok(ngx_http_hotline_ws_parser_idle(&p), "its buffer let go: idle");

    rc = ngx_http_hotline_ws_parse(&p, &pos, in + n);
    ok(rc == NGX_OK && p.opcode == NGX_HOTLINE_WS_OP_PING, "the ping");
    ngx_http_hotline_ws_parser_release_control(&p);
    ok(ngx_http_hotline_ws_parser_idle(&p), "after the ping: idle");

    last = pos + 8;     /* the first fragment, whole */
    rc = ngx_http_hotline_ws_parse(&p, &pos, last);
    ok(rc == NGX_AGAIN && !ngx_http_hotline_ws_parser_idle(&p),
       "between two fragments of a message: not idle");

    ngx_http_hotline_ws_parser_release(&p);
    is(a.outstanding, 0, "nothing left allocated");

    k_ok = 0;

    for (k = 1; k <= n; k++) {
        t_init(&p, &a, 1024);
        glen = 0;
        idles = 0;
        msgs = 0;
        rc = NGX_AGAIN;

        for (at = 0; at < n; at += k) {
            pos = in + at;
            last = in + ngx_min(at + k, n);

            while (pos < last) {
                rc = ngx_http_hotline_ws_parse(&p, &pos, last);
                if (rc != NGX_OK) {
                    break;
                }

                msgs++;

                if (p.opcode == NGX_HOTLINE_WS_OP_TEXT
                    && glen + p.len <= sizeof(got))
                {
                    ngx_memcpy(got + glen, p.payload, p.len);
                    glen += p.len;
                    got[glen++] = '|';
                    ngx_http_hotline_ws_parser_release(&p);

                } else if (p.opcode == NGX_HOTLINE_WS_OP_CLOSE) {
                    glen += snprintf((char *) got + glen, sizeof(got) - glen,
                                     "%u|", (unsigned) p.close_code);
                }

                ngx_http_hotline_ws_parser_release_control(&p);
            }

            if (rc == NGX_ERROR) {
                break;
            }

            /* the end of a read */

            if (ngx_http_hotline_ws_parser_idle(&p)) {
                idles++;
                t_init(&p, &a, 1024);

            } else {
                ngx_memcpy(&moved, &p, sizeof(p));
                ngx_memset(&p, 0xa5, sizeof(p));
                ngx_memcpy(&p, &moved, sizeof(p));
            }
        }

        ngx_http_hotline_ws_parser_release(&p);

        if (rc != NGX_ERROR && msgs == 5 && a.outstanding == 0
            && glen == sizeof("hello|abcd|ef|1000|") - 1
            && ngx_memcmp(got, "hello|abcd|ef|1000|", glen) == 0
            && (k != 1 || idles == 5))
        {
            k_ok++;

        } else {
            diag("reads of %zu bytes: %zu bytes out, %u messages, %u idle",
                 k, glen, (unsigned) msgs, (unsigned) idles);
        }
    }

    is(k_ok, n, "every read size: the same messages, idle at each end of "
       "a frame outside a message");
}


/*
 * Text messages go through the unmask's ASCII check: one of every length
 * up to 80 bytes (the 16- and 8-byte steps and the bytes after them, at
 * every phase of the mask a split gives), all ASCII but for a character
 * or a bad byte at each place, fed every way; and messages in two
 * fragments whose second is ASCII after the first ended inside a
 * character, or ends with ASCII after finishing it.  The parser must take
 * exactly those the reference decoder takes.
 */

static void
t_test_unmask_ascii(void)
{
    u_char       msg[128], in[512];
    size_t       len, at, n, k, i;
    t_run_t      r;
    ngx_int_t    valid, took;
    ngx_uint_t   bad, runs, kind;

    static const char  *kinds[] = {
        "\xc3\xa9",           /* a whole character */
        "\x80",               /* a continuation alone */
        "\xe2\x82",           /* a character cut short */
        "\xff",               /* never in UTF-8 */
        ""                    /* none: all ASCII */
    };

    bad = 0;
    runs = 0;

    for (len = 1; len <= 80; len++) {
        for (kind = 0; kind < sizeof(kinds) / sizeof(kinds[0]); kind++) {

            k = ngx_strlen(kinds[kind]);

            for (at = 0; at + k <= len; at++) {

                for (i = 0; i < len; i++) {
                    msg[i] = (u_char) ('a' + (i % 26));
                }

                ngx_memcpy(msg + at, kinds[kind], k);

                valid = t_utf8_ref(msg, len);

                n = t_frame(in, T_FIN | NGX_HOTLINE_WS_OP_TEXT, msg, len, 1,
                            0);

                runs++;

                if (!t_feed_all_ways(&r, in, n, 1024)) {
                    bad++;
                    t_run_free(&r);
                    continue;
                }

                took = (r.n == 1 && r.ev[0].rc == NGX_OK && r.ev[0].len == len
                        && ngx_memcmp(r.ev[0].data, msg, len) == 0);

                if (took != valid
                    || (!valid
                        && (r.n != 1 || r.ev[0].rc != NGX_ERROR
                            || r.ev[0].error_code
                               != NGX_HOTLINE_WS_CLOSE_BAD_DATA)))
                {
                    if (bad++ == 0) {
                        diag("length %u, kind %u at %u: parser %d, "
                             "reference %d", (unsigned) len, (unsigned) kind,
                             (unsigned) at, (int) took, (int) valid);
                    }
                }

                t_run_free(&r);

                if (k == 0) {
                    break;
                }
            }
        }
    }

    ok(bad == 0 && runs > 10000,
       "text messages of 1 to 80 bytes, a character or a bad byte at "
       "every place: as the reference decides (%u messages)",
       (unsigned) runs);

    /* a character cut by the fragment's end, ASCII in the next one */

    bad = 0;

    for (len = 1; len <= 40; len++) {

        for (i = 0; i < len; i++) {
            msg[i] = (u_char) ('A' + (i % 26));
        }

        /* "\xc3" | ASCII: bad */

        n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "ab\xc3", 3, 1, 0);
        n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, msg, len, 1, 0);

        if (!t_error(in, n, 1024, NGX_HOTLINE_WS_CLOSE_BAD_DATA, NULL)) {
            bad++;
        }

        /* "\xc3" | "\xa9" ASCII: good */

        msg[0] = 0xa9;

        n = t_frame(in, NGX_HOTLINE_WS_OP_TEXT, "ab\xc3", 3, 1, 0);
        n += t_frame(in + n, T_FIN | NGX_HOTLINE_WS_OP_CONT, msg, len, 1, 0);

        if (!t_feed_all_ways(&r, in, n, 1024) || r.n != 1
            || r.ev[0].rc != NGX_OK || r.ev[0].len != len + 3)
        {
            bad++;
        }

        t_run_free(&r);
    }

    ok(bad == 0, "a character cut between two fragments: ASCII after "
       "its lead byte is refused, after the whole character taken");
}


int
main(void)
{
    t_test_utf8();
    t_test_encoder();
    t_test_basic();
    t_test_protocol_errors();
    t_test_errors_sticky();
    t_test_close();
    t_test_fragments();
    t_test_sizes();
    t_test_memory();
    t_test_idle();
    t_test_unmask_ascii();

    return ngx_tap_done();
}
