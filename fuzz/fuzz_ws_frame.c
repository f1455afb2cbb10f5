
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for src/ngx_http_hotline_ws_frame.c.
 *
 * Input: 4 config bytes (max_message, split seed), then the bytes a client
 * sends.  The bytes are parsed twice, whole and in random pieces; both
 * parses must give the same results, and every result must keep the
 * parser's promises (sizes, close codes, valid UTF-8 in text).  Then the
 * input is sent back through the header encoder as one masked binary
 * frame, which must parse to exactly the same bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdlib.h>
#include "ngx_http_hotline_ws_frame.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


typedef struct {
    size_t    max;
    size_t    outstanding;
} fz_alloc_t;


typedef struct {
    uint64_t  hash;
    size_t    events;
    ngx_int_t last;
} fz_result_t;


static void *
fz_alloc(size_t size, void *data)
{
    fz_alloc_t  *a;

    a = data;

    /* a message's buffer, or a control frame's (125 bytes at most) */
    fz_check(size > 0
             && size <= ngx_max(a->max, NGX_HOTLINE_WS_MAX_CONTROL));

    a->outstanding++;

    return malloc(size);
}


static void
fz_free(void *p, void *data)
{
    fz_alloc_t  *a;

    a = data;
    a->outstanding--;

    free(p);
}


static uint64_t
fz_hash(uint64_t h, const void *data, size_t len)
{
    size_t         i;
    const u_char  *p;

    p = data;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }

    return h;
}


static void
fz_event(ngx_http_hotline_ws_parser_t *p, ngx_int_t rc, fz_result_t *r)
{
    uint32_t  state;

    r->events++;
    r->last = rc;

    r->hash = fz_hash(r->hash, &rc, sizeof(rc));

    if (rc == NGX_ERROR) {
        fz_check(p->error != NULL);
        fz_check(p->error_code == NGX_HOTLINE_WS_CLOSE_PROTOCOL
                 || p->error_code == NGX_HOTLINE_WS_CLOSE_BAD_DATA
                 || p->error_code == NGX_HOTLINE_WS_CLOSE_TOO_BIG);

        r->hash = fz_hash(r->hash, &p->error_code, sizeof(p->error_code));
        r->hash = fz_hash(r->hash, p->error, ngx_strlen(p->error));
        return;
    }

    fz_check(p->payload != NULL || p->len == 0);

    switch (p->opcode) {

    case NGX_HOTLINE_WS_OP_TEXT:
        state = 0;
        fz_check(ngx_http_hotline_utf8_check(&state, p->payload, p->len)
                 == NGX_OK && state == 0);
        /* fall through */

    case NGX_HOTLINE_WS_OP_BINARY:
        fz_check(p->len <= p->max_message);
        break;

    case NGX_HOTLINE_WS_OP_CLOSE:
        fz_check(p->len <= NGX_HOTLINE_WS_MAX_CONTROL - 2);

        if (p->close_code == NGX_HOTLINE_WS_CLOSE_NO_STATUS) {
            fz_check(p->len == 0);

        } else {
            fz_check((p->close_code >= 1000 && p->close_code <= 1003)
                     || (p->close_code >= 1007 && p->close_code <= 1014)
                     || (p->close_code >= 3000 && p->close_code <= 4999));
        }

        state = 0;
        fz_check(ngx_http_hotline_utf8_check(&state, p->payload, p->len)
                 == NGX_OK && state == 0);
        break;

    case NGX_HOTLINE_WS_OP_PING:
    case NGX_HOTLINE_WS_OP_PONG:
        fz_check(p->len <= NGX_HOTLINE_WS_MAX_CONTROL);
        break;

    default:
        fz_check(0);
    }

    r->hash = fz_hash(r->hash, &p->opcode, sizeof(p->opcode));
    r->hash = fz_hash(r->hash, &p->close_code, sizeof(p->close_code));
    r->hash = fz_hash(r->hash, &p->len, sizeof(p->len));
    r->hash = fz_hash(r->hash, p->payload, p->len);
}


/* split == 0: all at once; otherwise pieces of 1..16 bytes from a PRNG */

static void
fz_parse(u_char *in, size_t len, size_t max, uint32_t split, fz_result_t *r)
{
    u_char                        *pos, *last, *end;
    size_t                         n;
    ngx_int_t                      rc;
    fz_alloc_t                     a;
    ngx_http_hotline_ws_parser_t   p;

    ngx_memzero(r, sizeof(fz_result_t));
    ngx_memzero(&p, sizeof(ngx_http_hotline_ws_parser_t));

    a.max = max;
    a.outstanding = 0;

    p.max_message = max;
    p.alloc = fz_alloc;
    p.free = fz_free;
    p.data = &a;

    r->hash = 0xcbf29ce484222325ULL;

    pos = in;
    end = in + len;

    while (pos < end) {

        if (split) {
            split = split * 1103515245 + 12345;
            n = 1 + ((split >> 16) & 0x0f);

        } else {
            n = len;
        }

        last = (size_t) (end - pos) < n ? end : pos + n;

        for ( ;; ) {
            rc = ngx_http_hotline_ws_parse(&p, &pos, last);

            fz_check(pos >= in && pos <= last);

            if (rc == NGX_AGAIN) {
                fz_check(pos == last);
                break;
            }

            fz_check(rc == NGX_OK || rc == NGX_ERROR);

            fz_event(&p, rc, r);

            if (rc == NGX_ERROR) {
                goto done;
            }

            if (pos == last) {
                break;
            }
        }
    }

done:

    ngx_http_hotline_ws_parser_release(&p);

    fz_check(a.outstanding == 0);
}


/* the input as the payload of one masked binary frame */

static void
fz_roundtrip(const u_char *data, size_t len, const u_char *mask)
{
    u_char                        *frame, *pos;
    size_t                         i, n;
    ngx_int_t                      rc;
    fz_alloc_t                     a;
    ngx_http_hotline_ws_parser_t   p;

    frame = malloc(len + NGX_HOTLINE_WS_MAX_HEADER);
    fz_check(frame != NULL);

    n = ngx_http_hotline_ws_frame_header(frame, NGX_HOTLINE_WS_OP_BINARY,
                                         len);
    fz_check(n == 2 || n == 4 || n == 10);
    fz_check(n + 4 <= NGX_HOTLINE_WS_MAX_HEADER);

    frame[1] |= 0x80;
    ngx_memcpy(frame + n, mask, 4);

    for (i = 0; i < len; i++) {
        frame[n + 4 + i] = data[i] ^ mask[i & 3];
    }

    ngx_memzero(&p, sizeof(ngx_http_hotline_ws_parser_t));

    a.max = len ? len : 1;
    a.outstanding = 0;

    p.max_message = a.max;
    p.alloc = fz_alloc;
    p.free = fz_free;
    p.data = &a;

    pos = frame;
    rc = ngx_http_hotline_ws_parse(&p, &pos, frame + n + 4 + len);

    fz_check(rc == NGX_OK && pos == frame + n + 4 + len);
    fz_check(p.opcode == NGX_HOTLINE_WS_OP_BINARY && p.len == len);
    fz_check(len == 0 || ngx_memcmp(p.payload, data, len) == 0);

    ngx_http_hotline_ws_parser_release(&p);
    fz_check(a.outstanding == 0);

    free(frame);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char       *in;
    size_t        len, max;
    uint32_t      split;
    fz_result_t   whole, pieces;

    if (size < 4) {
        return 0;
    }

    max = 1 + (((size_t) data[0] << 8 | data[1]) & 0x1fff);
    split = 1 + ((uint32_t) data[2] << 8 | data[3]);

    len = size - 4;

    /* an exact copy: reads past the end are caught, and input is const */

    in = malloc(len ? len : 1);
    fz_check(in != NULL);
    ngx_memcpy(in, data + 4, len);

    fz_parse(in, len, max, 0, &whole);
    fz_parse(in, len, max, split, &pieces);

    fz_check(whole.events == pieces.events);
    fz_check(whole.hash == pieces.hash);

    fz_roundtrip(in, len, data);

    free(in);

    return 0;
}
