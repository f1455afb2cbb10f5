
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_resp.h"


/*
 * What Redis sends, walked without a reply object: where one whole reply
 * ends and what its outer shape is, so that the bytes a connection reads
 * are looked at before hiredis gets them (ngx_http_hotline_redis.c).  The
 * walk is at least as strict as hiredis 0.14's reader: what it takes,
 * hiredis takes too (numbers are checked, which hiredis 0.14 does not do;
 * bulk strings end with CRLF, which it assumes).
 */


static u_char *ngx_http_hotline_resp_line(u_char *p, u_char *last,
    u_char **end);
static ngx_int_t ngx_http_hotline_resp_int(u_char *p, u_char *end,
    int64_t *v);
static void ngx_http_hotline_resp_nil(ngx_http_hotline_resp_reply_t *reply,
    ngx_uint_t depth, ngx_uint_t *index);


/*
 * NGX_OK: a whole reply starts at p, *used bytes long, described in
 * reply; NGX_AGAIN: its bytes are not all there yet; NGX_ERROR: not RESP
 * as hiredis reads it.
 */

ngx_int_t
ngx_http_hotline_resp_next(u_char *p, u_char *last,
    ngx_http_hotline_resp_reply_t *reply, size_t *used)
{
    u_char      *start, *line, *end, type;
    int64_t      n;
    ngx_uint_t   depth, index[NGX_HOTLINE_RESP_DEPTH + 1];
    int64_t      left[NGX_HOTLINE_RESP_DEPTH + 1];

    ngx_memzero(reply, sizeof(ngx_http_hotline_resp_reply_t));

    start = p;
    depth = 0;

    for ( ;; ) {

        /* one element: at depth 0 the reply itself */

        if (p == last) {
            return NGX_AGAIN;
        }

        type = *p++;

        if (depth == 0) {
            reply->type = type;

        } else if (depth == 1 && index[1] < 3) {
            reply->first[index[1]] = type;
        }

        switch (type) {

        case '+':
        case '-':
        case ':':
        case '$':
        case '*':
            break;

        default:
            return NGX_ERROR;
        }

        line = p;
        p = ngx_http_hotline_resp_line(p, last, &end);

        if (p == NULL) {
            return NGX_AGAIN;
        }

        if (end == NULL) {
            return NGX_ERROR;
        }

        n = 0;

        if ((type == ':' || type == '$' || type == '*')
            && ngx_http_hotline_resp_int(line, end, &n) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (type == '$' && n >= 0) {
            if (n > NGX_HOTLINE_RESP_MAX) {
                return NGX_ERROR;
            }

            if ((uint64_t) n > (uint64_t) (last - p)
                || (size_t) (last - p) - (size_t) n < 2)
            {
                return NGX_AGAIN;
            }

            if (p[n] != CR || p[n + 1] != LF) {
                return NGX_ERROR;
            }

            if (depth == 1 && index[1] == 0) {
                reply->str = p;
                reply->len = (size_t) n;
            }

            p += n + 2;

        } else if (type == '$') {
            if (n != -1) {
                return NGX_ERROR;
            }

            ngx_http_hotline_resp_nil(reply, depth, index);
        }

        if (type == '*') {
            /* an element takes 3 bytes at least ("+\r\n") */
            if (n < -1 || n > NGX_HOTLINE_RESP_MAX / 3) {
                return NGX_ERROR;
            }

            if (depth == 0) {
                reply->elements = (ngx_int_t) n;
            }

            if (n == -1) {
                ngx_http_hotline_resp_nil(reply, depth, index);
            }

            if (n > 0) {
                if (depth == NGX_HOTLINE_RESP_DEPTH) {
                    return NGX_ERROR;
                }

                depth++;
                left[depth] = n;
                index[depth] = 0;
                continue;
            }
        }

        /* the element is whole: up to the arrays it ends */

        while (depth > 0) {
            index[depth]++;

            if (--left[depth] > 0) {
                break;
            }

            depth--;
        }

        if (depth == 0) {
            *used = p - start;
            return NGX_OK;
        }
    }
}


/*
 * The line at p, up to CRLF: *end is its CR.  Returns what follows the
 * LF; NULL if the line is not all there.  *end is NULL if the line is
 * longer than any Redis sends.
 */

static u_char *
ngx_http_hotline_resp_line(u_char *p, u_char *last, u_char **end)
{
    u_char  *cr, *max;

    *end = NULL;

    max = (last - p > NGX_HOTLINE_RESP_LINE_MAX)
          ? p + NGX_HOTLINE_RESP_LINE_MAX : last;

    for (cr = p; cr + 1 < max; cr++) {
        cr = ngx_strlchr(cr, max - 1, CR);

        if (cr == NULL) {
            break;
        }

        if (cr[1] == LF) {
            *end = cr;
            return cr + 2;
        }
    }

    if (max < last) {
        /* too long: a line that ends there or later is an error */
        return p;
    }

    return NULL;
}


/* a number of a line: "0", or an optional '-' and digits, a 64-bit
 * integer */

static ngx_int_t
ngx_http_hotline_resp_int(u_char *p, u_char *end, int64_t *v)
{
    uint64_t    n, max;
    ngx_uint_t  minus;

    if (end - p == 1 && *p == '0') {
        *v = 0;
        return NGX_OK;
    }

    minus = (p < end && *p == '-');
    p += minus;

    /* no sign alone, no leading zero, no "-0": as hiredis' string2ll() */

    if (p == end || *p == '0') {
        return NGX_ERROR;
    }

    /* down to -2^63, up to 2^63 - 1 */
    max = minus ? (uint64_t) INT64_MAX + 1
                : (uint64_t) INT64_MAX;

    for (n = 0; p < end; p++) {
        if (*p < '0' || *p > '9'
            || n > (max - (uint64_t) (*p - '0')) / 10)
        {
            return NGX_ERROR;
        }

        n = n * 10 + (uint64_t) (*p - '0');
    }

    *v = minus ? (int64_t) (0 - n) : (int64_t) n;

    return NGX_OK;
}


/* a nil ("$-1", "*-1") is neither a string nor an array to hiredis */

static void
ngx_http_hotline_resp_nil(ngx_http_hotline_resp_reply_t *reply,
    ngx_uint_t depth, ngx_uint_t *index)
{
    if (depth == 0) {
        reply->type = NGX_HOTLINE_RESP_NIL;

    } else if (depth == 1 && index[1] < 3) {
        reply->first[index[1]] = NGX_HOTLINE_RESP_NIL;
    }
}


/*
 * What a subscribed connection may get without hiredis 0.14 aborting in
 * __redisGetSubscribeCallback(): an array of at least two strings, with
 * an unsubscribe's count after them.  Anything else than an array goes
 * to a command's callback.
 */

ngx_uint_t
ngx_http_hotline_resp_pushed(ngx_http_hotline_resp_reply_t *r)
{
    u_char      *kind, *nul;
    size_t       len;
    ngx_uint_t   i;

    static u_char  unsubscribe[] = "unsubscribe";

    if (r->type != '*') {
        /* an answer to a command before SUBSCRIBE (AUTH), an error */
        return 1;
    }

    if (r->elements < 2 || r->first[0] != '$' || r->first[1] != '$') {
        return 0;
    }

    /* hiredis reads the kind as a C string: up to a NUL in it */

    nul = ngx_strlchr(r->str, r->str + r->len, '\0');
    len = nul ? (size_t) (nul - r->str) : r->len;

    /* "unsubscribe" or "punsubscribe", in any case */

    kind = r->str;

    if (len == sizeof(unsubscribe) && ngx_tolower(kind[0]) == 'p') {
        kind++;
        len--;
    }

    if (len != sizeof(unsubscribe) - 1) {
        return 1;
    }

    for (i = 0; i < len; i++) {
        if (ngx_tolower(kind[i]) != unsubscribe[i]) {
            return 1;
        }
    }

    return r->elements >= 3 && r->first[2] == ':';
}
