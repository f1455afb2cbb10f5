
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_json_scan.h"

#if (__SSE2__)
#include <emmintrin.h>
#endif


/*
 * The grammar is RFC 8259's as jansson reads it: whitespace is space, tab,
 * LF and CR; strings are UTF-8 without overlong forms, surrogates or code
 * points above U+10FFFF, escapes are \" \\ \/ \b \f \n \r \t and \uXXXX
 * (a high surrogate only followed by a low one), \u0000 is refused (in
 * keys and values alike); integers fit in 64 signed bits; a number has no
 * leading zeros; after the object only whitespace follows.  And one
 * quirk of jansson's reader: the byte that ends a number or a literal
 * (true, false, null) is read and put back, and a NUL byte put back is
 * lost, so one NUL right after a number or a literal is skipped.
 */


typedef struct {
    u_char                       *p;
    u_char                       *last;
    ngx_str_t                    *keys;
    ngx_uint_t                    nested;
    ngx_http_hotline_json_obj_t  *inner;
    ngx_uint_t                    trusted;
} ngx_http_hotline_json_scan_t;


static ngx_int_t ngx_http_hotline_json_object(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_obj_t *o, ngx_uint_t depth);
static ngx_int_t ngx_http_hotline_json_member(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_obj_t *o, ngx_http_hotline_json_val_t *key,
    ngx_http_hotline_json_val_t **value);
static ngx_int_t ngx_http_hotline_json_value(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v, ngx_http_hotline_json_obj_t *inner);
static ngx_int_t ngx_http_hotline_json_string(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v);
static ngx_int_t ngx_http_hotline_json_number(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v);
static ngx_int_t ngx_http_hotline_json_skip(ngx_http_hotline_json_scan_t *s);
static ngx_int_t ngx_http_hotline_json_hex4(u_char *p);
static u_char *ngx_http_hotline_json_unescape(u_char **pp, u_char *dst);


/* 1: a byte that stands for itself in a string, and needs no check */

static const u_char  ngx_http_hotline_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x20: '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,    /* 0x50: '\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,    /* 0x70: DEL */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* UTF-8 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


/*
 * The run of plain bytes at p (none of them needs a look): 16 bytes at a
 * time with SSE2, else 8 at a time in a word (a byte of x is 0 if and only
 * if (x - 0x01..) & ~x & 0x80.. is not 0), the rest one by one.
 */

#if (__SSE2__)

static ngx_inline u_char *
ngx_http_hotline_json_run(u_char *p, u_char *last)
{
    int      bad;
    __m128i  v, m;

    while (last - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        /* signed: bytes from 0x80 up are below 0x20 too */
        m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));

        bad = _mm_movemask_epi8(m);

        if (bad) {
            /* the first byte that needs a look */
            return p + __builtin_ctz(bad);
        }

        p += 16;
    }

    while (p < last && ngx_http_hotline_json_plain[*p]) {
        p++;
    }

    return p;
}

#else

#define NGX_HOTLINE_JSON_ONES   0x0101010101010101ULL
#define NGX_HOTLINE_JSON_HIGHS  0x8080808080808080ULL

#define ngx_http_hotline_json_zero(x)                                        \
    (((x) - NGX_HOTLINE_JSON_ONES) & ~(x) & NGX_HOTLINE_JSON_HIGHS)

static ngx_inline u_char *
ngx_http_hotline_json_run(u_char *p, u_char *last)
{
    uint64_t  w;

    while (last - p >= 8) {
        ngx_memcpy(&w, p, 8);

        if ((w & NGX_HOTLINE_JSON_HIGHS)
            || ((w - 0x20 * NGX_HOTLINE_JSON_ONES) & ~w
                & NGX_HOTLINE_JSON_HIGHS)
            || ngx_http_hotline_json_zero(w ^ ('"' * NGX_HOTLINE_JSON_ONES))
            || ngx_http_hotline_json_zero(w ^ ('\\' * NGX_HOTLINE_JSON_ONES))
            || ngx_http_hotline_json_zero(w ^ (0x7f * NGX_HOTLINE_JSON_ONES)))
        {
            break;
        }

        p += 8;
    }

    while (p < last && ngx_http_hotline_json_plain[*p]) {
        p++;
    }

    return p;
}

#endif


#define ngx_http_hotline_json_ws(s)                                          \
    while ((s)->p < (s)->last                                                \
           && (*(s)->p == ' ' || *(s)->p == '\n' || *(s)->p == '\r'          \
               || *(s)->p == '\t'))                                          \
    {                                                                        \
        (s)->p++;                                                            \
    }


ngx_int_t
ngx_http_hotline_json_scan(u_char *p, size_t len, ngx_str_t *keys,
    ngx_uint_t nested, ngx_http_hotline_json_obj_t *root,
    ngx_http_hotline_json_obj_t *inner, ngx_uint_t trusted)
{
    ngx_int_t                     rc;
    ngx_http_hotline_json_scan_t  s;

    s.p = p;
    s.last = p + len;
    s.keys = keys;
    s.nested = nested;
    s.inner = inner;
    s.trusted = trusted;

    root->keys = keys;
    inner->keys = keys;
    inner->present = 0;
    inner->other.pos = 0;

    ngx_http_hotline_json_ws(&s);

    if (s.p == s.last || *s.p != '{') {
        /* an array is valid JSON, but not a message either */
        return NGX_ERROR;
    }

    s.p++;

    rc = ngx_http_hotline_json_object(&s, root, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_hotline_json_ws(&s);

    return (s.p == s.last) ? NGX_OK : NGX_ERROR;
}


/* the members of an object, from after its "{" to after its "}" */

static ngx_int_t
ngx_http_hotline_json_object(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_obj_t *o, ngx_uint_t depth)
{
    ngx_int_t                     rc;
    ngx_uint_t                    pos;
    ngx_http_hotline_json_obj_t  *inner;
    ngx_http_hotline_json_val_t   key, scratch, *v;

    o->present = 0;
    o->other.pos = 0;
    o->nothers = 0;

    ngx_http_hotline_json_ws(s);

    if (s->p < s->last && *s->p == '}') {
        s->p++;
        return NGX_OK;
    }

    for (pos = 1; /* void */; pos++) {

        if (s->p == s->last || *s->p != '"') {
            return NGX_ERROR;
        }

        s->p++;

        rc = ngx_http_hotline_json_string(s, &key);
        if (rc != NGX_OK) {
            return rc;
        }

        key.pos = pos;

        rc = ngx_http_hotline_json_member(s, o, &key, &v);
        if (rc != NGX_OK) {
            return rc;
        }

        /* the object of keys[nested] is tabulated too */
        inner = (depth == 0 && v == &o->member[s->nested]) ? s->inner : NULL;

        if (v == NULL) {
            v = &scratch;
        }

        v->pos = pos;

        ngx_http_hotline_json_ws(s);

        if (s->p == s->last || *s->p != ':') {
            return NGX_ERROR;
        }

        s->p++;

        ngx_http_hotline_json_ws(s);

        rc = ngx_http_hotline_json_value(s, v, inner);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_hotline_json_ws(s);

        if (s->p == s->last) {
            return NGX_ERROR;
        }

        if (*s->p == '}') {
            s->p++;
            return NGX_OK;
        }

        if (*s->p != ',') {
            return NGX_ERROR;
        }

        s->p++;

        ngx_http_hotline_json_ws(s);
    }
}


/*
 * Which member a key names: its slot in o (*value), or NULL for a name
 * that is not in keys (the first such key is kept in o->other).  Two
 * members of one name make the object invalid.
 */

static ngx_int_t
ngx_http_hotline_json_member(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_obj_t *o, ngx_http_hotline_json_val_t *key,
    ngx_http_hotline_json_val_t **value)
{
    u_char      *name, buf[32];
    size_t       n;
    ngx_uint_t   k;

    *value = NULL;

    n = key->len;
    name = key->start;

    if (key->flags & NGX_HOTLINE_JSON_ESCAPED) {
        if (n > sizeof(buf)) {
            goto other;
        }

        ngx_http_hotline_json_decode(key, buf, n);
        name = buf;
    }

    for (k = 0; s->keys[k].len; k++) {
        if (s->keys[k].len == n && s->keys[k].data[0] == name[0]
            && ngx_memcmp(s->keys[k].data, name, n) == 0)
        {
            if (o->present & (1u << k)) {
                return NGX_ERROR;
            }

            o->present |= 1u << k;
            *value = &o->member[k];

            return NGX_OK;
        }
    }

other:

    if (!s->trusted) {

        /* duplicates among other names: a few, as written, are checked
         * here; more, or escaped ones, by the full parser */

        if ((key->flags & NGX_HOTLINE_JSON_ESCAPED)
            || o->nothers == NGX_HOTLINE_JSON_OTHERS_MAX)
        {
            return NGX_DECLINED;
        }

        for (k = 0; k < o->nothers; k++) {
            if (o->others[k].len == n
                && ngx_memcmp(o->others[k].data, key->start, n) == 0)
            {
                return NGX_ERROR;
            }
        }

        o->others[o->nothers].data = key->start;
        o->others[o->nothers].len = n;
        o->nothers++;
    }

    if (o->other.pos == 0) {
        o->other = *key;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_json_value(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v, ngx_http_hotline_json_obj_t *inner)
{
    u_char     *p;
    ngx_int_t   rc;

    p = s->p;

    if (p == s->last) {
        return NGX_ERROR;
    }

    switch (*p) {

    case '"':
        s->p++;
        v->kind = NGX_HOTLINE_JSON_STRING;
        return ngx_http_hotline_json_string(s, v);

    case '{':
        v->kind = NGX_HOTLINE_JSON_OBJECT;
        v->start = p;

        if (inner) {
            s->p++;
            return ngx_http_hotline_json_object(s, inner, 1);
        }

        return ngx_http_hotline_json_skip(s);

    case '[':
        v->kind = NGX_HOTLINE_JSON_ARRAY;
        v->start = p;
        return ngx_http_hotline_json_skip(s);

    case 't':
        if (s->last - p < 4 || ngx_memcmp(p, "true", 4) != 0) {
            return NGX_ERROR;
        }

        v->kind = NGX_HOTLINE_JSON_TRUE;
        s->p += 4;
        break;

    case 'f':
        if (s->last - p < 5 || ngx_memcmp(p, "false", 5) != 0) {
            return NGX_ERROR;
        }

        v->kind = NGX_HOTLINE_JSON_FALSE;
        s->p += 5;
        break;

    case 'n':
        if (s->last - p < 4 || ngx_memcmp(p, "null", 4) != 0) {
            return NGX_ERROR;
        }

        v->kind = NGX_HOTLINE_JSON_NULL;
        s->p += 4;
        break;

    default:
        rc = ngx_http_hotline_json_number(s, v);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* jansson's quirk (see above) */

    if (s->p < s->last && *s->p == '\0') {
        s->p++;
    }

    return NGX_OK;
}


/*
 * A string, from after its opening quote to after its closing one: its
 * source, its decoded length and what it holds (the flags).
 */

static ngx_int_t
ngx_http_hotline_json_string(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v)
{
    u_char      *p, *last, c;
    size_t       saved, cont, n;
    uint32_t     cp, lo;
    ngx_int_t    hi;
    ngx_uint_t   flags;

    p = s->p;
    last = s->last;
    flags = 0;
    saved = 0;              /* bytes the escapes lose when decoded */
    cont = 0;               /* UTF-8 continuation bytes, decoded */

    v->start = p;

    for ( ;; ) {

        p = ngx_http_hotline_json_run(p, last);

        if (p == last) {
            return NGX_ERROR;
        }

        c = *p;

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            return NGX_ERROR;
        }

        if (c == 0x7f) {
            flags |= NGX_HOTLINE_JSON_CONTROL|NGX_HOTLINE_JSON_REWRITE;
            p++;
            continue;
        }

        if (c == '\\') {
            flags |= NGX_HOTLINE_JSON_ESCAPED;

            if (last - p < 2) {
                return NGX_ERROR;
            }

            switch (p[1]) {

            case '"':
            case '\\':
                break;

            case '/':
                flags |= NGX_HOTLINE_JSON_REWRITE;
                break;

            case 'n':
            case 't':
                flags |= NGX_HOTLINE_JSON_LF_TAB;
                break;

            case 'r':
                flags |= NGX_HOTLINE_JSON_CR;
                break;

            case 'b':
            case 'f':
                flags |= NGX_HOTLINE_JSON_CONTROL|NGX_HOTLINE_JSON_REWRITE;
                break;

            case 'u':
                if (last - p < 6) {
                    return NGX_ERROR;
                }

                flags |= NGX_HOTLINE_JSON_REWRITE;

                hi = ngx_http_hotline_json_hex4(p + 2);
                if (hi <= 0) {
                    /* not hex digits, or \u0000 */
                    return NGX_ERROR;
                }

                cp = (uint32_t) hi;

                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return NGX_ERROR;
                }

                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (last - p < 12 || p[6] != '\\' || p[7] != 'u') {
                        return NGX_ERROR;
                    }

                    hi = ngx_http_hotline_json_hex4(p + 8);

                    if (hi < 0xdc00 || hi > 0xdfff) {
                        return NGX_ERROR;
                    }

                    /* 12 bytes of escapes, 4 bytes of UTF-8 */
                    saved += 8;
                    cont += 3;
                    p += 12;
                    continue;
                }

                if (cp < 0x20) {
                    flags |= (cp == '\n' || cp == '\t')
                             ? NGX_HOTLINE_JSON_LF_TAB
                             : (cp == '\r') ? NGX_HOTLINE_JSON_CR
                                            : NGX_HOTLINE_JSON_CONTROL;

                } else if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)
                           || cp == 0x2028 || cp == 0x2029)
                {
                    flags |= NGX_HOTLINE_JSON_CONTROL;
                }

                n = (cp < 0x80) ? 1 : (cp < 0x800) ? 2 : 3;
                saved += 6 - n;
                cont += n - 1;
                p += 6;
                continue;

            default:
                return NGX_ERROR;
            }

            saved++;
            p += 2;
            continue;
        }

        /* c >= 0x80: a UTF-8 sequence, checked as jansson does */

        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;

        } else {
            return NGX_ERROR;
        }

        if ((size_t) (last - p) < n) {
            return NGX_ERROR;
        }

        for (lo = 1; lo < n; lo++) {
            if (p[lo] < 0x80 || p[lo] > 0xbf) {
                return NGX_ERROR;
            }

            cp = (cp << 6) | (p[lo] & 0x3f);
        }

        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
            || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return NGX_ERROR;
        }

        if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029) {
            flags |= NGX_HOTLINE_JSON_CONTROL;
        }

        cont += n - 1;
        p += n;
    }

    v->end = p;
    v->len = (p - v->start) - saved;
    v->chars = v->len - cont;
    v->flags = flags;

    s->p = p + 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_json_number(ngx_http_hotline_json_scan_t *s,
    ngx_http_hotline_json_val_t *v)
{
    u_char      *p, *last;
    uint64_t     n, max, d;
    ngx_uint_t   neg, big;

    p = s->p;
    last = s->last;

    v->start = p;

    neg = (*p == '-');

    if (neg) {
        p++;
    }

    if (p == last || *p < '0' || *p > '9') {
        return NGX_ERROR;
    }

    /* as strtoll reads it: an integer out of range makes the text
     * invalid (a real number of as many digits is not) */

    max = neg ? (uint64_t) INT64_MAX + 1
              : (uint64_t) INT64_MAX;
    n = 0;
    big = 0;

    if (*p == '0') {
        p++;

        if (p < last && *p >= '0' && *p <= '9') {
            return NGX_ERROR;
        }

    } else {
        while (p < last && *p >= '0' && *p <= '9') {
            d = *p++ - '0';

            if (big || n > (max - d) / 10) {
                big = 1;
                continue;
            }

            n = n * 10 + d;
        }
    }

    if (p == last || (*p != '.' && *p != 'e' && *p != 'E')) {
        if (big) {
            return NGX_ERROR;
        }

        v->kind = NGX_HOTLINE_JSON_INTEGER;
        v->integer = neg ? (int64_t) (0 - n) : (int64_t) n;
        v->end = p;
        s->p = p;
        return NGX_OK;
    }

    /* a real number: its form here, whether it overflows a double by the
     * full parser (strtod) */

    if (*p == '.') {
        p++;

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (!s->trusted) {
        return NGX_DECLINED;
    }

    v->kind = NGX_HOTLINE_JSON_REAL;
    v->end = p;
    s->p = p;

    return NGX_OK;
}


/* a whole array or object (one the full parser found valid) */

static ngx_int_t
ngx_http_hotline_json_skip(ngx_http_hotline_json_scan_t *s)
{
    u_char      *p, *last;
    ngx_uint_t   depth;

    if (!s->trusted) {
        return NGX_DECLINED;
    }

    p = s->p;
    last = s->last;
    depth = 0;

    while (p < last) {

        switch (*p++) {

        case '"':
            while (p < last && *p != '"') {
                p += (*p == '\\') ? 2 : 1;
            }

            p++;
            break;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                s->p = p;
                return NGX_OK;
            }

            break;

        default:
            break;
        }
    }

    return NGX_ERROR;
}


/* the value of 4 hex digits, or -1 */

static ngx_int_t
ngx_http_hotline_json_hex4(u_char *p)
{
    u_char      c;
    ngx_int_t   v;
    ngx_uint_t  i;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return -1;
            }

            c = c - 'a' + 10;
        }

        v = (v << 4) | c;
    }

    return v;
}


/* one escape of a scanned string at *pp, decoded into dst */

static u_char *
ngx_http_hotline_json_unescape(u_char **pp, u_char *dst)
{
    u_char    *p;
    uint32_t   cp;

    p = *pp;

    switch (p[1]) {

    case 'u':
        break;

    case 'b':
        *dst++ = '\b';
        *pp = p + 2;
        return dst;

    case 'f':
        *dst++ = '\f';
        *pp = p + 2;
        return dst;

    case 'n':
        *dst++ = '\n';
        *pp = p + 2;
        return dst;

    case 'r':
        *dst++ = '\r';
        *pp = p + 2;
        return dst;

    case 't':
        *dst++ = '\t';
        *pp = p + 2;
        return dst;

    default: /* '"', '\\', '/' */
        *dst++ = p[1];
        *pp = p + 2;
        return dst;
    }

    cp = (uint32_t) ngx_http_hotline_json_hex4(p + 2);
    p += 6;

    if (cp >= 0xd800 && cp <= 0xdbff) {
        cp = 0x10000 + ((cp - 0xd800) << 10)
             + ((uint32_t) ngx_http_hotline_json_hex4(p + 2) - 0xdc00);
        p += 6;
    }

    *pp = p;

    if (cp < 0x80) {
        *dst++ = (u_char) cp;

    } else if (cp < 0x800) {
        *dst++ = (u_char) (0xc0 | (cp >> 6));
        *dst++ = (u_char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *dst++ = (u_char) (0xe0 | (cp >> 12));
        *dst++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *dst++ = (u_char) (0x80 | (cp & 0x3f));

    } else {
        *dst++ = (u_char) (0xf0 | (cp >> 18));
        *dst++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        *dst++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *dst++ = (u_char) (0x80 | (cp & 0x3f));
    }

    return dst;
}


void
ngx_http_hotline_json_decode(ngx_http_hotline_json_val_t *v, u_char *dst,
    size_t size)
{
    u_char  *p, *q, *last, buf[4];
    size_t   n;

    p = v->start;
    last = dst + size;

    if (!(v->flags & NGX_HOTLINE_JSON_ESCAPED)) {
        n = ngx_min(size, (size_t) (v->end - p));
        ngx_memcpy(dst, p, n);
        return;
    }

    while (p < v->end && dst < last) {

        if (*p != '\\') {
            *dst++ = *p++;
            continue;
        }

        q = ngx_http_hotline_json_unescape(&p, buf);
        n = ngx_min((size_t) (q - buf), (size_t) (last - dst));
        dst = ngx_cpymem(dst, buf, n);
    }
}


u_char *
ngx_http_hotline_json_copy(u_char *p, ngx_http_hotline_json_val_t *v)
{
    u_char  *s, *run, *q, buf[4];

    *p++ = '"';

    if (!(v->flags & NGX_HOTLINE_JSON_REWRITE)) {
        /* as it came: escaping it again would give the same */
        p = ngx_cpymem(p, v->start, v->end - v->start);
        *p++ = '"';
        return p;
    }

    s = v->start;
    run = s;

    while (s < v->end) {

        if (*s != '\\') {
            s++;
            continue;
        }

        p = ngx_http_hotline_json_escape(p, run, s - run);

        q = ngx_http_hotline_json_unescape(&s, buf);
        p = ngx_http_hotline_json_escape(p, buf, q - buf);

        run = s;
    }

    p = ngx_http_hotline_json_escape(p, run, s - run);
    *p++ = '"';

    return p;
}


u_char *
ngx_http_hotline_json_escape(u_char *p, u_char *s, size_t len)
{
    u_char   c;
    size_t   i;

    static const u_char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        c = s[i];

        switch (c) {

        case '"':
        case '\\':
            *p++ = '\\';
            *p++ = c;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        case '\r':
            *p++ = '\\';
            *p++ = 'r';
            break;

        case '\t':
            *p++ = '\\';
            *p++ = 't';
            break;

        default:
            if (c < 0x20 || c == 0x7f) {
                *p++ = '\\'; *p++ = 'u'; *p++ = '0'; *p++ = '0';
                *p++ = hex[c >> 4]; *p++ = hex[c & 0xf];

            } else {
                *p++ = c;
            }
        }
    }

    return p;
}
