
/*
 * Copyright (C) hotline authors
 */


/*
 * Differential libFuzzer target: the module's WebSocket frame parser
 * (src/ngx_http_hotline_ws_frame.c, incremental, DFA UTF-8 check) against
 * a reference decoder written here from RFC 6455 and RFC 3629 alone
 * (whole buffer at once, frame by frame, UTF-8 by Unicode's table 3-7).
 *
 * Input: the 4 config bytes of fuzz_ws_frame (max_message, split seed),
 * then the bytes a client sends.  Both decoders turn them into the same
 * list of events: each control frame (opcode, close code, payload) and
 * each reassembled data message (opcode, unmasked payload, length), up to
 * the first protocol error and its close code (1002, 1007, 1009), or to
 * the end of the input.  The module's parser runs on the whole input and
 * again on random pieces; both lists must equal the reference's, byte for
 * byte.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdlib.h>
#include "ngx_http_hotline_ws_frame.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


/* the events, serialized: 'M' op(1) code(2) len(4) payload, or 'E' code(2) */

typedef struct {
    u_char   *start;
    u_char   *pos;
    u_char   *end;
} fz_log_t;


static void
fz_log_event(fz_log_t *log, unsigned op, unsigned code, const u_char *data,
    size_t len)
{
    fz_check((size_t) (log->end - log->pos) >= 8 + len);

    *log->pos++ = 'M';
    *log->pos++ = (u_char) op;
    *log->pos++ = (u_char) (code >> 8);
    *log->pos++ = (u_char) code;
    *log->pos++ = (u_char) (len >> 24);
    *log->pos++ = (u_char) (len >> 16);
    *log->pos++ = (u_char) (len >> 8);
    *log->pos++ = (u_char) len;

    if (len) {
        memcpy(log->pos, data, len);
        log->pos += len;
    }
}


static void
fz_log_error(fz_log_t *log, unsigned code)
{
    fz_check(log->end - log->pos >= 3);

    *log->pos++ = 'E';
    *log->pos++ = (u_char) (code >> 8);
    *log->pos++ = (u_char) code;
}


/* ------------------------------------------------------------------------
 * the reference decoder
 */

/*
 * UTF-8 as in RFC 3629 / Unicode table 3-7: the lead byte says how many
 * continuation bytes follow and the range of the first of them; the
 * others are 80..BF.  The state lives across the frames of a message.
 */

typedef struct {
    unsigned  need;          /* continuation bytes still to come */
    u_char    lo, hi;        /* the range of the next one */
} ref_utf8_t;


static int
ref_utf8_feed(ref_utf8_t *u, const u_char *s, size_t n)
{
    u_char  c;
    size_t  i;

    for (i = 0; i < n; i++) {
        c = s[i];

        if (u->need) {
            if (c < u->lo || c > u->hi) {
                return -1;
            }

            u->need--;
            u->lo = 0x80;
            u->hi = 0xbf;
            continue;
        }

        if (c <= 0x7f) {
            continue;
        }

        u->lo = 0x80;
        u->hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            u->need = 1;

        } else if (c == 0xe0) {
            u->need = 2;
            u->lo = 0xa0;

        } else if (c == 0xed) {
            u->need = 2;
            u->hi = 0x9f;

        } else if (c >= 0xe1 && c <= 0xef) {
            u->need = 2;

        } else if (c == 0xf0) {
            u->need = 3;
            u->lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            u->need = 3;

        } else if (c == 0xf4) {
            u->need = 3;
            u->hi = 0x8f;

        } else {
            return -1;       /* 80..C1, F5..FF never lead */
        }
    }

    return 0;
}


static int
ref_close_code_ok(unsigned code)
{
    if (code >= 3000 && code <= 4999) {
        return 1;
    }

    switch (code) {
    case 1000: case 1001: case 1002: case 1003:
    case 1007: case 1008: case 1009: case 1010:
    case 1011: case 1012: case 1013: case 1014:
        return 1;
    }

    return 0;
}


static void
ref_decode(const u_char *in, size_t n, size_t max, fz_log_t *log)
{
    int          fin, masked;
    size_t       pos, have, i, hdr, msg_len;
    u_char       b0, b1, mask[4], *msg, *frame;
    unsigned     op, msg_op, code;
    uint64_t     len;
    ref_utf8_t   utf8, reason;

    pos = 0;
    msg_op = 0;          /* the data message open, 0: none */
    msg_len = 0;
    msg = malloc(max);
    frame = malloc(126);
    fz_check(msg != NULL && frame != NULL);
    memset(&utf8, 0, sizeof(utf8));

    while (pos < n) {

        /* the first byte: FIN, RSV1-3, opcode */

        b0 = in[pos];
        fin = b0 >> 7;
        op = b0 & 0x0f;

        if (b0 & 0x70) {
            goto protocol;   /* no extension was negotiated */
        }

        if (op == 0x0) {
            if (msg_op == 0) {
                goto protocol;
            }

        } else if (op == 0x1 || op == 0x2) {
            if (msg_op != 0) {
                goto protocol;
            }

        } else if (op == 0x8 || op == 0x9 || op == 0xa) {
            if (!fin) {
                goto protocol;
            }

        } else {
            goto protocol;
        }

        if (n - pos < 2) {
            break;
        }

        /* the second byte: MASK, payload length */

        b1 = in[pos + 1];
        masked = b1 >> 7;
        len = b1 & 0x7f;

        if (!masked) {
            goto protocol;   /* a client masks every frame */
        }

        if ((op & 0x8) && len > 125) {
            goto protocol;
        }

        hdr = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;

        if (n - pos < hdr) {
            break;
        }

        if (len == 126) {
            len = (uint64_t) in[pos + 2] << 8 | in[pos + 3];

        } else if (len == 127) {
            len = 0;

            for (i = 0; i < 8; i++) {
                len = len << 8 | in[pos + 2 + i];
            }

            if (len >> 63) {
                goto protocol;
            }
        }

        memcpy(mask, in + pos + hdr - 4, 4);
        pos += hdr;

        if (!(op & 0x8)) {
            if (op != 0x0) {
                msg_op = op;
                msg_len = 0;
                memset(&utf8, 0, sizeof(utf8));
            }

            if (msg_len + len > max) {
                fz_log_error(log, 1009);
                goto done;
            }
        }

        /* the payload, unmasked byte by byte; it may end early */

        have = (n - pos < len) ? n - pos : (size_t) len;

        if (op & 0x8) {
            for (i = 0; i < have; i++) {
                frame[i] = in[pos + i] ^ mask[i % 4];
            }

            pos += have;

            if (have < len) {
                break;
            }

            if (op != 0x8) {
                fz_log_event(log, op, 0, frame, have);
                continue;
            }

            if (len == 0) {
                fz_log_event(log, op, 1005, frame, 0);
                continue;
            }

            code = len >= 2 ? (unsigned) frame[0] << 8 | frame[1] : 0;

            if (len == 1 || !ref_close_code_ok(code)) {
                goto protocol;
            }

            /* the reason is checked apart from an open text message */

            memset(&reason, 0, sizeof(reason));

            if (ref_utf8_feed(&reason, frame + 2, have - 2) != 0
                || reason.need)
            {
                fz_log_error(log, 1007);
                goto done;
            }

            fz_log_event(log, op, code, frame + 2, have - 2);
            continue;
        }

        for (i = 0; i < have; i++) {
            msg[msg_len + i] = in[pos + i] ^ mask[i % 4];
        }

        if (msg_op == 0x1 && ref_utf8_feed(&utf8, msg + msg_len, have) != 0) {
            fz_log_error(log, 1007);
            goto done;
        }

        msg_len += have;
        pos += have;

        if (have < len || !fin) {
            continue;    /* the input ended, or more fragments come */
        }

        if (msg_op == 0x1 && utf8.need) {
            fz_log_error(log, 1007);
            goto done;
        }

        fz_log_event(log, msg_op, 0, msg, msg_len);
        msg_op = 0;
        msg_len = 0;
    }

    goto done;

protocol:

    fz_log_error(log, 1002);

done:

    free(frame);
    free(msg);
}


/* ------------------------------------------------------------------------
 * the module's parser
 */

static void *
fz_alloc(size_t size, void *data)
{
    /* a message's buffer, or a control frame's (125 bytes at most) */
    fz_check(size > 0 && size <= ngx_max(*(size_t *) data,
                                         NGX_HOTLINE_WS_MAX_CONTROL));

    return malloc(size);
}


static void
fz_free(void *p, void *data)
{
    (void) data;
    free(p);
}


static void
mod_decode(u_char *in, size_t n, size_t max, uint32_t split, fz_log_t *log)
{
    u_char                        *pos, *last, *end;
    size_t                         step;
    ngx_int_t                      rc;
    ngx_http_hotline_ws_parser_t   p;

    ngx_memzero(&p, sizeof(ngx_http_hotline_ws_parser_t));

    p.max_message = max;
    p.alloc = fz_alloc;
    p.free = fz_free;
    p.data = &max;

    pos = in;
    end = in + n;

    while (pos < end) {

        if (split) {
            split = split * 1103515245 + 12345;
            step = 1 + ((split >> 16) & 0x1f);

        } else {
            step = n;
        }

        last = (size_t) (end - pos) < step ? end : pos + step;

        for ( ;; ) {
            rc = ngx_http_hotline_ws_parse(&p, &pos, last);

            if (rc == NGX_AGAIN) {
                break;
            }

            if (rc == NGX_ERROR) {
                fz_log_error(log, (unsigned) p.error_code);
                goto done;
            }

            fz_check(rc == NGX_OK);

            fz_log_event(log, (unsigned) p.opcode,
                         (unsigned) p.close_code, p.payload, p.len);

            if (pos == last) {
                break;
            }
        }
    }

done:

    ngx_http_hotline_ws_parser_release(&p);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char     *in, *buf;
    size_t      n, max, room;
    uint32_t    split;
    fz_log_t    ref, whole, pieces;

    if (size < 4) {
        return 0;
    }

    max = 1 + (((size_t) data[0] << 8 | data[1]) & 0x1fff);
    split = 1 + ((uint32_t) data[2] << 8 | data[3]);

    n = size - 4;

    in = malloc(n ? n : 1);
    fz_check(in != NULL);
    memcpy(in, data + 4, n);

    /* every event takes at least 6 input bytes and adds 8 to the log */

    room = 2 * n + 16;
    buf = malloc(3 * room);
    fz_check(buf != NULL);

    ref.start = ref.pos = buf;
    ref.end = buf + room;
    whole.start = whole.pos = buf + room;
    whole.end = buf + 2 * room;
    pieces.start = pieces.pos = buf + 2 * room;
    pieces.end = buf + 3 * room;

    ref_decode(in, n, max, &ref);
    mod_decode(in, n, max, 0, &whole);
    mod_decode(in, n, max, split, &pieces);

    fz_check(whole.pos - whole.start == ref.pos - ref.start);
    fz_check(memcmp(whole.start, ref.start, ref.pos - ref.start) == 0);

    fz_check(pieces.pos - pieces.start == ref.pos - ref.start);
    fz_check(memcmp(pieces.start, ref.start, ref.pos - ref.start) == 0);

    free(buf);
    free(in);

    return 0;
}
