
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#if (__SSE2__)
#include <emmintrin.h>
#endif
#include "ngx_http_hotline_ws_frame.h"


/*
 * RFC 6455 frame parser, frame header encoder and strict UTF-8 checker.
 * Pure code: only macros and types from nginx, no nginx function call.
 */


#define NGX_HOTLINE_WS_ST_HEADER     0
#define NGX_HOTLINE_WS_ST_PAYLOAD    1
#define NGX_HOTLINE_WS_ST_FAILED     2

#define NGX_HOTLINE_WS_MIN_BUF       256

#define ngx_http_hotline_ws_is_control(op)  ((op) & 0x8)


/* UTF-8 DFA states; 0 is "accept", the others wait for continuations */

#define NGX_HOTLINE_UTF8_ACCEPT      0
#define NGX_HOTLINE_UTF8_REJECT      8


static ngx_int_t ngx_http_hotline_ws_header(ngx_http_hotline_ws_parser_t *p,
    u_char **pos, u_char *last);
static ngx_int_t ngx_http_hotline_ws_header_done(
    ngx_http_hotline_ws_parser_t *p);
static ngx_int_t ngx_http_hotline_ws_control(ngx_http_hotline_ws_parser_t *p,
    u_char **pos, u_char *last);
static ngx_int_t ngx_http_hotline_ws_parse_close(
    ngx_http_hotline_ws_parser_t *p);
static ngx_int_t ngx_http_hotline_ws_data(ngx_http_hotline_ws_parser_t *p,
    u_char **pos, u_char *last);
static void ngx_http_hotline_ws_free_msg(ngx_http_hotline_ws_parser_t *p);
static ngx_int_t ngx_http_hotline_ws_grow(ngx_http_hotline_ws_parser_t *p,
    size_t need);
static ngx_uint_t ngx_http_hotline_ws_unmask(u_char *dst, u_char *src,
    size_t n, u_char *mask, uint64_t offset);
static ngx_int_t ngx_http_hotline_ws_fail(ngx_http_hotline_ws_parser_t *p,
    ngx_uint_t code, const char *error);


/*
 * byte classes: 0 00-7F, 1 80-8F, 2 90-9F, 3 A0-BF, 4 C0-C1 F5-FF,
 * 5 C2-DF, 6 E0, 7 E1-EC EE-EF, 8 ED, 9 F0, 10 F1-F3, 11 F4
 */

/* the payload of an empty frame or message */
static u_char  ngx_http_hotline_ws_empty[1];


static const u_char  ngx_http_hotline_utf8_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 00-0F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 10-1F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 20-2F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 30-3F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 40-4F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 50-5F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 60-6F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 70-7F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 80-8F */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 90-9F */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,     /* A0-AF */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,     /* B0-BF */
    4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* C0-CF */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* D0-DF */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7,     /* E0-EF */
    9, 10, 10, 10, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4  /* F0-FF */
};


/*
 * states: 0 accept, 1..3 need that many continuation bytes (80-BF),
 * 4 after E0 (needs A0-BF: no overlong), 5 after ED (needs 80-9F: no
 * surrogate), 6 after F0 (needs 90-BF: no overlong), 7 after F4 (needs
 * 80-8F: nothing above U+10FFFF), 8 reject
 */

static const u_char  ngx_http_hotline_utf8_next[9][12] = {
    /*  00 80 90 A0 C0 C2 E0 E1 ED F0 F1 F4 */
    {   0, 8, 8, 8, 8, 1, 4, 2, 5, 6, 3, 7 },   /* 0 accept */
    {   8, 0, 0, 0, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 1 */
    {   8, 1, 1, 1, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 2 */
    {   8, 2, 2, 2, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 3 */
    {   8, 8, 8, 1, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 4 E0 */
    {   8, 1, 1, 8, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 5 ED */
    {   8, 8, 2, 2, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 6 F0 */
    {   8, 2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 },   /* 7 F4 */
    {   8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 }    /* 8 reject */
};


ngx_int_t
ngx_http_hotline_ws_parse(ngx_http_hotline_ws_parser_t *p, u_char **pos,
    u_char *last)
{
    ngx_int_t  rc;

    for ( ;; ) {

        switch (p->state) {

        case NGX_HOTLINE_WS_ST_HEADER:
            rc = ngx_http_hotline_ws_header(p, pos, last);
            if (rc != NGX_OK) {
                return rc;
            }

            p->state = NGX_HOTLINE_WS_ST_PAYLOAD;
            break;

        case NGX_HOTLINE_WS_ST_PAYLOAD:
            if (ngx_http_hotline_ws_is_control(p->frame_opcode)) {
                return ngx_http_hotline_ws_control(p, pos, last);
            }

            rc = ngx_http_hotline_ws_data(p, pos, last);
            if (rc != NGX_DONE) {
                return rc;
            }

            /* a non-final fragment ended: go on with the next frame */
            break;

        default: /* NGX_HOTLINE_WS_ST_FAILED */
            if (p->error == NULL) {
                /* released in the middle of a message */
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                            "message buffer released");
            }

            return NGX_ERROR;
        }
    }
}


static ngx_int_t
ngx_http_hotline_ws_header(ngx_http_hotline_ws_parser_t *p, u_char **pos,
    u_char *last)
{
    u_char      ch;
    ngx_uint_t  op, len;

    if (p->hdr_len == 0) {
        p->hdr_need = 2;
    }

    while (p->hdr_len < p->hdr_need) {

        if (*pos == last) {
            return NGX_AGAIN;
        }

        ch = *(*pos)++;
        p->hdr[p->hdr_len++] = ch;

        if (p->hdr_len == 1) {

            /* fail fast on the first byte */

            if (ch & 0x70) {
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "reserved bits set");
            }

            op = ch & 0x0f;

            switch (op) {

            case NGX_HOTLINE_WS_OP_CONT:
                if (p->msg_opcode == 0) {
                    return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "continuation without message");
                }
                break;

            case NGX_HOTLINE_WS_OP_TEXT:
            case NGX_HOTLINE_WS_OP_BINARY:
                if (p->msg_opcode != 0) {
                    return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "new message inside fragmented "
                                            "message");
                }
                break;

            case NGX_HOTLINE_WS_OP_CLOSE:
            case NGX_HOTLINE_WS_OP_PING:
            case NGX_HOTLINE_WS_OP_PONG:
                if (!(ch & 0x80)) {
                    return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "fragmented control frame");
                }
                break;

            default:
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "unknown opcode");
            }

            p->frame_opcode = op;
            p->frame_fin = (ch & 0x80) ? 1 : 0;

            continue;
        }

        if (p->hdr_len == 2) {

            if (!(ch & 0x80)) {
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "unmasked client frame");
            }

            len = ch & 0x7f;

            if (ngx_http_hotline_ws_is_control(p->frame_opcode)
                && len > NGX_HOTLINE_WS_MAX_CONTROL)
            {
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "control frame too long");
            }

            /* 2 header bytes, extended length, 4 mask bytes */

            p->hdr_need = 2 + 4 + (len == 126 ? 2 : (len == 127 ? 8 : 0));
        }
    }

    return ngx_http_hotline_ws_header_done(p);
}


static ngx_int_t
ngx_http_hotline_ws_header_done(ngx_http_hotline_ws_parser_t *p)
{
    u_char      *h;
    uint64_t     len;
    ngx_uint_t   i;

    h = p->hdr;
    len = h[1] & 0x7f;

    if (len == 126) {
        len = ((uint64_t) h[2] << 8) | h[3];
        h += 4;

    } else if (len == 127) {
        if (h[2] & 0x80) {
            return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                            "bad frame length");
        }

        len = 0;
        for (i = 2; i < 10; i++) {
            len = (len << 8) | h[i];
        }

        h += 10;

    } else {
        h += 2;
    }

    ngx_memcpy(p->mask, h, 4);

    p->frame_len = len;
    p->frame_got = 0;
    p->hdr_len = 0;

    if (ngx_http_hotline_ws_is_control(p->frame_opcode)) {

        /* its payload's buffer lives while it is read and used */

        ngx_http_hotline_ws_parser_release_control(p);

        if (len) {
            p->ctrl = p->alloc((size_t) len, p->data);
            if (p->ctrl == NULL) {
                return ngx_http_hotline_ws_fail(p,
                                            NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                            "out of memory");
            }
        }

        return NGX_OK;
    }

    /* data frame: the whole message must fit, decided before any payload */

    if (p->frame_opcode != NGX_HOTLINE_WS_OP_CONT) {
        p->msg_opcode = p->frame_opcode;
        p->msg_len = 0;
        p->utf8 = NGX_HOTLINE_UTF8_ACCEPT;
    }

    if (len > (uint64_t) (p->max_message - p->msg_len)) {
        return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_TOO_BIG,
                                        "message too big");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_ws_control(ngx_http_hotline_ws_parser_t *p, u_char **pos,
    u_char *last)
{
    size_t  n;

    /* frame_len <= 125 here, checked on the second header byte */

    n = (size_t) (p->frame_len - p->frame_got);

    if (n > (size_t) (last - *pos)) {
        n = last - *pos;
    }

    if (n) {
        (void) ngx_http_hotline_ws_unmask(p->ctrl + p->frame_got, *pos, n,
                                          p->mask, p->frame_got);
    }

    *pos += n;
    p->frame_got += n;

    if (p->frame_got < p->frame_len) {
        return NGX_AGAIN;
    }

    p->state = NGX_HOTLINE_WS_ST_HEADER;

    p->opcode = p->frame_opcode;
    p->payload = p->frame_len ? p->ctrl : ngx_http_hotline_ws_empty;
    p->len = (size_t) p->frame_len;
    p->close_code = 0;

    if (p->frame_opcode == NGX_HOTLINE_WS_OP_CLOSE) {
        return ngx_http_hotline_ws_parse_close(p);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_ws_parse_close(ngx_http_hotline_ws_parser_t *p)
{
    uint32_t    state;
    ngx_uint_t  code;

    if (p->len == 0) {
        p->close_code = NGX_HOTLINE_WS_CLOSE_NO_STATUS;
        return NGX_OK;
    }

    if (p->len == 1) {
        return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                        "close frame of 1 byte");
    }

    code = ((ngx_uint_t) p->ctrl[0] << 8) | p->ctrl[1];

    /*
     * codes that may be sent: 1000-1003, 1007-1014 (registered),
     * 3000-3999 (IANA registered), 4000-4999 (private use)
     */

    if (code < 1000
        || (code >= 1004 && code <= 1006)
        || (code >= 1015 && code <= 2999)
        || code >= 5000)
    {
        return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_PROTOCOL,
                                        "invalid close code");
    }

    state = NGX_HOTLINE_UTF8_ACCEPT;

    if (ngx_http_hotline_utf8_check(&state, p->ctrl + 2, p->len - 2)
        != NGX_OK
        || state != NGX_HOTLINE_UTF8_ACCEPT)
    {
        return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_BAD_DATA,
                                        "invalid UTF-8 in close reason");
    }

    /* payload and len are the reason, the code is in close_code */

    p->close_code = code;
    p->payload = p->ctrl + 2;
    p->len -= 2;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_ws_data(ngx_http_hotline_ws_parser_t *p, u_char **pos,
    u_char *last)
{
    size_t       n;
    u_char      *dst;
    ngx_uint_t   ascii;

    n = (size_t) (p->frame_len - p->frame_got);

    if (n > (size_t) (last - *pos)) {
        n = last - *pos;
    }

    if (n) {
        if (p->msg_len + n > p->msg_size
            && ngx_http_hotline_ws_grow(p, p->msg_len + n) != NGX_OK)
        {
            return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                            "out of memory");
        }

        dst = p->msg + p->msg_len;

        ascii = ngx_http_hotline_ws_unmask(dst, *pos, n, p->mask,
                                           p->frame_got);

        /* ASCII after a whole character leaves the check where it was */

        if (p->msg_opcode == NGX_HOTLINE_WS_OP_TEXT
            && !(ascii && p->utf8 == NGX_HOTLINE_UTF8_ACCEPT)
            && ngx_http_hotline_utf8_check(&p->utf8, dst, n) != NGX_OK)
        {
            return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_BAD_DATA,
                                            "invalid UTF-8 in text message");
        }

        *pos += n;
        p->msg_len += n;
        p->frame_got += n;
    }

    if (p->frame_got < p->frame_len) {
        return NGX_AGAIN;
    }

    p->state = NGX_HOTLINE_WS_ST_HEADER;

    if (!p->frame_fin) {
        return NGX_DONE;
    }

    if (p->msg_opcode == NGX_HOTLINE_WS_OP_TEXT
        && p->utf8 != NGX_HOTLINE_UTF8_ACCEPT)
    {
        return ngx_http_hotline_ws_fail(p, NGX_HOTLINE_WS_CLOSE_BAD_DATA,
                                        "truncated UTF-8 in text message");
    }

    p->opcode = p->msg_opcode;
    p->payload = p->msg ? p->msg : ngx_http_hotline_ws_empty;
    p->len = p->msg_len;
    p->close_code = 0;

    p->msg_opcode = 0;
    p->msg_len = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_ws_grow(ngx_http_hotline_ws_parser_t *p, size_t need)
{
    size_t   size;
    u_char  *msg;

    /* need <= max_message: the message size was checked on the header */

    size = p->msg_size ? p->msg_size : NGX_HOTLINE_WS_MIN_BUF;

    while (size < need) {
        if (size > p->max_message / 2) {
            size = p->max_message;
            break;
        }

        size *= 2;
    }

    if (size > p->max_message) {
        size = p->max_message;
    }

    msg = p->alloc(size, p->data);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    if (p->msg) {
        ngx_memcpy(msg, p->msg, p->msg_len);
        p->free(p->msg, p->data);
    }

    p->msg = msg;
    p->msg_size = size;

    return NGX_OK;
}


/*
 * dst = src ^ mask, where src starts at offset bytes into the frame
 * payload: 16 bytes at a time with SSE2, 8 at a time in a word (memcpy
 * compiles to unaligned moves), the rest one by one.  Returns 1 if no
 * byte of dst has its high bit set: ASCII, which a text message's UTF-8
 * check need not look at.
 */

static ngx_uint_t
ngx_http_hotline_ws_unmask(u_char *dst, u_char *src, size_t n, u_char *mask,
    uint64_t offset)
{
    u_char      m[16], high;
    uint64_t    w, m8, acc;
    ngx_uint_t  i;
#if (__SSE2__)
    __m128i     v, m16, acc16;
#endif

    for (i = 0; i < 16; i++) {
        m[i] = mask[(offset + i) & 3];
    }

    acc = 0;

#if (__SSE2__)

    m16 = _mm_loadu_si128((const __m128i *) m);
    acc16 = _mm_setzero_si128();

    while (n >= 16) {
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *) src), m16);
        _mm_storeu_si128((__m128i *) dst, v);
        acc16 = _mm_or_si128(acc16, v);

        src += 16;
        dst += 16;
        n -= 16;
    }

    if (_mm_movemask_epi8(acc16)) {
        acc = 0x80;
    }

#endif

    /* what is left starts at a multiple of 4 bytes: the mask's phase */

    ngx_memcpy(&m8, m, 8);

    while (n >= 8) {
        ngx_memcpy(&w, src, 8);
        w ^= m8;
        ngx_memcpy(dst, &w, 8);
        acc |= w;

        src += 8;
        dst += 8;
        n -= 8;
    }

    high = 0;

    for (i = 0; i < n; i++) {
        dst[i] = src[i] ^ m[i];
        high |= dst[i];
    }

    return ((acc & 0x8080808080808080ULL) | (high & 0x80)) == 0;
}


static ngx_int_t
ngx_http_hotline_ws_fail(ngx_http_hotline_ws_parser_t *p, ngx_uint_t code,
    const char *error)
{
    p->state = NGX_HOTLINE_WS_ST_FAILED;
    p->error_code = code;
    p->error = error;

    p->payload = NULL;
    p->len = 0;

    return NGX_ERROR;
}


void
ngx_http_hotline_ws_parser_release(ngx_http_hotline_ws_parser_t *p)
{
    if (p->msg_opcode != 0 && p->msg_len > 0
        && p->state != NGX_HOTLINE_WS_ST_FAILED)
    {
        /* the part of the message received so far is gone */
        p->state = NGX_HOTLINE_WS_ST_FAILED;
        p->error = NULL;
    }

    ngx_http_hotline_ws_free_msg(p);

    if (p->ctrl && p->state == NGX_HOTLINE_WS_ST_PAYLOAD
        && ngx_http_hotline_ws_is_control(p->frame_opcode))
    {
        /* the part of the control frame received so far is gone */
        p->state = NGX_HOTLINE_WS_ST_FAILED;
        p->error = NULL;
    }

    ngx_http_hotline_ws_parser_release_control(p);
}


/*
 * Between messages: the message buffer, kept from one message to the
 * next of a read, goes (a quiet connection keeps none).
 */

void
ngx_http_hotline_ws_parser_trim(ngx_http_hotline_ws_parser_t *p)
{
    if (p->msg_opcode == 0) {
        ngx_http_hotline_ws_free_msg(p);
    }
}


static void
ngx_http_hotline_ws_free_msg(ngx_http_hotline_ws_parser_t *p)
{
    if (p->msg) {
        if (p->payload == p->msg) {
            p->payload = NULL;
            p->len = 0;
        }

        p->free(p->msg, p->data);
    }

    p->msg = NULL;
    p->msg_size = 0;
    p->msg_len = 0;
}


ngx_uint_t
ngx_http_hotline_ws_parser_idle(ngx_http_hotline_ws_parser_t *p)
{
    return p->state == NGX_HOTLINE_WS_ST_HEADER && p->hdr_len == 0
           && p->msg_opcode == 0 && p->msg == NULL && p->ctrl == NULL;
}


void
ngx_http_hotline_ws_parser_release_control(ngx_http_hotline_ws_parser_t *p)
{
    if (p->ctrl == NULL
        || (p->state == NGX_HOTLINE_WS_ST_PAYLOAD
            && ngx_http_hotline_ws_is_control(p->frame_opcode)))
    {
        /* none, or a control frame is read into it */
        return;
    }

    if (p->payload == p->ctrl) {
        p->payload = NULL;
        p->len = 0;
    }

    p->free(p->ctrl, p->data);
    p->ctrl = NULL;
}


size_t
ngx_http_hotline_ws_frame_header(u_char *dst, ngx_uint_t opcode, size_t len)
{
    uint64_t    n;
    ngx_uint_t  i;

    dst[0] = (u_char) (0x80 | (opcode & 0x0f));

    if (len < 126) {
        dst[1] = (u_char) len;
        return 2;
    }

    if (len <= 0xffff) {
        dst[1] = 126;
        dst[2] = (u_char) (len >> 8);
        dst[3] = (u_char) len;
        return 4;
    }

    dst[1] = 127;
    n = len;

    for (i = 9; i >= 2; i--) {
        dst[i] = (u_char) n;
        n >>= 8;
    }

    return 10;
}


ngx_int_t
ngx_http_hotline_utf8_check(uint32_t *state, u_char *p, size_t n)
{
    u_char    *end;
    uint32_t   s;
    uint64_t   w;

    s = *state;

    if (s >= NGX_HOTLINE_UTF8_REJECT) {
        *state = NGX_HOTLINE_UTF8_REJECT;
        return NGX_ERROR;
    }

    end = p + n;

    while (p < end) {

        if (s == NGX_HOTLINE_UTF8_ACCEPT) {

            /* skip ASCII eight bytes at a time */

            while (end - p >= 8) {
                ngx_memcpy(&w, p, 8);

                if (w & 0x8080808080808080ULL) {
                    break;
                }

                p += 8;
            }

            while (p < end && *p < 0x80) {
                p++;
            }

            if (p == end) {
                break;
            }
        }

        s = ngx_http_hotline_utf8_next[s][ngx_http_hotline_utf8_class[*p++]];

        if (s == NGX_HOTLINE_UTF8_REJECT) {
            *state = s;
            return NGX_ERROR;
        }
    }

    *state = s;

    return NGX_OK;
}
