
/*
 * Copyright (C) hotline authors
 */


/*
 * The reference for fuzz_proto_diff: the signaling message parser as it
 * was before the in-place tokenizer (src/ngx_http_hotline_json_scan.c),
 * every message through jansson's json_loadb.  Test code only: the
 * differential target requires the module's parser to give the same
 * answer, the same error details and the same relayed bytes for any
 * input.  A change to what the protocol accepts is made here too (as
 * 'connected' and the limits counted in characters were).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_proto.h"
#include "proto_jansson.h"


typedef struct {
    ngx_str_t     name;
    ngx_uint_t    type;
    ngx_uint_t    roles;             /* bit 1: customer, bit 2: agent */
} hl_ref_type_t;


static ngx_uint_t hl_ref_check_members(json_t *root,
    const char **allowed, ngx_http_hotline_msg_t *m);
static ngx_uint_t hl_ref_get_text(json_t *root, const char *key,
    size_t min, size_t max, ngx_uint_t multiline, ngx_uint_t required,
    json_t **value, ngx_http_hotline_msg_t *m);
static ngx_int_t hl_ref_text_ok(const u_char *p, size_t len,
    ngx_uint_t multiline);
static ngx_uint_t hl_ref_relay(json_t *root,
    ngx_http_hotline_msg_t *m, ngx_uint_t role, u_char *out, size_t size);
static ngx_uint_t hl_ref_relay_ice(json_t *c,
    ngx_http_hotline_msg_t *m, u_char **pp, u_char *last);
static u_char *hl_ref_put_member(u_char *p, u_char *last,
    const char *key, json_t *v);


#define C  1
#define A  2

static hl_ref_type_t  hl_ref_types[] = {
    { ngx_string("join"),   NGX_HOTLINE_MSG_JOIN,   C },
    { ngx_string("resume"), NGX_HOTLINE_MSG_RESUME, C|A },
    { ngx_string("cancel"), NGX_HOTLINE_MSG_CANCEL, C },
    { ngx_string("accept"), NGX_HOTLINE_MSG_ACCEPT, A },
    { ngx_string("reject"), NGX_HOTLINE_MSG_REJECT, A },
    { ngx_string("offer"),  NGX_HOTLINE_MSG_OFFER,  C|A },
    { ngx_string("answer"), NGX_HOTLINE_MSG_ANSWER, C|A },
    { ngx_string("ice"),    NGX_HOTLINE_MSG_ICE,    C|A },
    { ngx_string("chat"),   NGX_HOTLINE_MSG_CHAT,   C|A },
    { ngx_string("media"),  NGX_HOTLINE_MSG_MEDIA,  C|A },
    { ngx_string("hangup"), NGX_HOTLINE_MSG_HANGUP, C|A },
    { ngx_string("ban"),    NGX_HOTLINE_MSG_BAN,    A },
    { ngx_string("connected"), NGX_HOTLINE_MSG_CONNECTED, C|A },
    { ngx_null_string, 0, 0 }
};

#undef C
#undef A


static const char  *hl_ref_members[][5] = {
    { NULL },
    { "name", NULL },                                  /* join */
    { "token", "last_seq", NULL },                     /* resume */
    { NULL },                                          /* cancel */
    { "call_id", NULL },                               /* accept */
    { "call_id", NULL },                               /* reject */
    { "sdp", NULL },                                   /* offer */
    { "sdp", NULL },                                   /* answer */
    { "candidate", NULL },                             /* ice */
    { "text", NULL },                                  /* chat */
    { "audio", "video", "screen", NULL },              /* media */
    { NULL },                                          /* hangup */
    { "call_id", NULL },                               /* ban */
    { NULL }                                           /* connected */
};


ngx_uint_t
hl_ref_proto_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_http_hotline_msg_t *m, u_char *out, size_t size)
{
    size_t                    n;
    json_t                   *root, *v;
    ngx_uint_t                i, rc;
    const char               *s;
    json_error_t              err;
    hl_ref_type_t  *t;

    ngx_memzero(m, sizeof(ngx_http_hotline_msg_t));

    root = json_loadb((const char *) data, len,
                      JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return NGX_HOTLINE_E_BAD_JSON;
    }

    if (!json_is_object(root)) {
        rc = NGX_HOTLINE_E_BAD_JSON;
        goto done;
    }

    /* the id first, so that every later error can echo it */

    v = json_object_get(root, "id");

    if (v != NULL) {
        if (!json_is_string(v)) {
            m->field = "id";
            rc = NGX_HOTLINE_E_BAD_FIELD;
            goto done;
        }

        s = json_string_value(v);
        n = json_string_length(v);

        if (n == 0 || n > NGX_HOTLINE_MSG_ID_MAX) {
            m->field = "id";
            rc = NGX_HOTLINE_E_BAD_FIELD;
            goto done;
        }

        for (i = 0; i < n; i++) {
            if (!(isalnum((u_char) s[i]) || s[i] == '_' || s[i] == '.'
                  || s[i] == ':' || s[i] == '-'))
            {
                m->field = "id";
                rc = NGX_HOTLINE_E_BAD_FIELD;
                goto done;
            }
        }

        ngx_memcpy(m->id, s, n);
        m->id_len = n;
    }

    v = json_object_get(root, "type");

    if (v == NULL || !json_is_string(v)) {
        rc = NGX_HOTLINE_E_BAD_TYPE;
        goto done;
    }

    s = json_string_value(v);
    n = json_string_length(v);

    for (t = hl_ref_types; t->name.len; t++) {
        if (t->name.len == n && ngx_strncmp(t->name.data, s, n) == 0) {
            break;
        }
    }

    if (t->name.len == 0) {
        rc = NGX_HOTLINE_E_BAD_TYPE;
        goto done;
    }

    m->type = t->type;

    if (!(t->roles & (1 << (role - 1)))) {
        rc = NGX_HOTLINE_E_NOT_ALLOWED;
        goto done;
    }

    rc = hl_ref_check_members(root,
                                        hl_ref_members[t->type],
                                        m);
    if (rc != NGX_HOTLINE_OK) {
        goto done;
    }

    switch (t->type) {

    case NGX_HOTLINE_MSG_JOIN:
        rc = hl_ref_get_text(root, "name", 1,
                                       NGX_HOTLINE_CUSTOMER_NAME, 0, 1, &v,
                                       m);
        if (rc != NGX_HOTLINE_OK) {
            goto done;
        }

        if (json_string_length(v) > NGX_HOTLINE_CUSTOMER_NAME_MAX) {
            m->field = "name";
            rc = NGX_HOTLINE_E_BAD_FIELD;
            goto done;
        }

        /* the copy lives in out: the JSON is freed below */

        n = json_string_length(v);

        if (n > size) {
            rc = NGX_HOTLINE_E_INTERNAL;
            goto done;
        }

        ngx_memcpy(out, json_string_value(v), n);
        m->name = out;
        m->name_len = n;

        for (i = 0; i < n; i++) {
            if (out[i] != ' ') {
                break;
            }
        }

        if (i == n) {
            m->field = "name";
            rc = NGX_HOTLINE_E_BAD_FIELD;
        }

        break;

    case NGX_HOTLINE_MSG_RESUME:
        rc = hl_ref_get_hexid(root, "token", m->token, m);
        if (rc != NGX_HOTLINE_OK) {
            goto done;
        }

        v = json_object_get(root, "last_seq");

        if (v != NULL) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                m->field = "last_seq";
                rc = NGX_HOTLINE_E_BAD_FIELD;
                goto done;
            }

            m->last_seq = (uint64_t) json_integer_value(v);
        }

        break;

    case NGX_HOTLINE_MSG_ACCEPT:
        if (json_object_get(root, "call_id") == NULL) {
            break;
        }

        /* fall through */

    case NGX_HOTLINE_MSG_REJECT:
    case NGX_HOTLINE_MSG_BAN:
        rc = hl_ref_get_hexid(root, "call_id", m->call_id, m);
        m->has_call_id = (rc == NGX_HOTLINE_OK);
        break;

    case NGX_HOTLINE_MSG_OFFER:
    case NGX_HOTLINE_MSG_ANSWER:
    case NGX_HOTLINE_MSG_ICE:
    case NGX_HOTLINE_MSG_CHAT:
    case NGX_HOTLINE_MSG_MEDIA:
        m->relay = 1;
        rc = hl_ref_relay(root, m, role, out, size);
        break;

    default: /* cancel, hangup */
        break;
    }

done:

    json_decref(root);

    return rc;
}


static ngx_uint_t
hl_ref_check_members(json_t *root, const char **allowed,
    ngx_http_hotline_msg_t *m)
{
    void         *it;
    size_t        n, i;
    const char   *key, **a;

    for (it = json_object_iter(root); it; it = json_object_iter_next(root, it))
    {
        key = json_object_iter_key(it);

        if (ngx_strcmp(key, "type") == 0 || ngx_strcmp(key, "id") == 0) {
            continue;
        }

        for (a = allowed; *a; a++) {
            if (ngx_strcmp(key, *a) == 0) {
                break;
            }
        }

        if (*a == NULL) {
            /* the JSON is freed before the error is written: a copy */
            n = ngx_min(ngx_strlen(key), NGX_HOTLINE_FIELD_MAX);

            for (i = 0; i < n; i++) {
                /* echoed as is only if it is plainly printable */
                m->field_buf[i] = (key[i] > 0x20 && key[i] < 0x7f
                                   && key[i] != '"' && key[i] != '\\')
                                  ? key[i] : '?';
            }

            m->field_buf[n] = '\0';
            m->field = (const char *) m->field_buf;
            return NGX_HOTLINE_E_BAD_FIELD;
        }
    }

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
hl_ref_get_text(json_t *root, const char *key, size_t min,
    size_t max, ngx_uint_t multiline, ngx_uint_t required, json_t **value,
    ngx_http_hotline_msg_t *m)
{
    size_t   n, i, chars;
    u_char  *s;
    json_t  *v;

    v = json_object_get(root, key);
    *value = v;

    if (v == NULL && !required) {
        return NGX_HOTLINE_OK;
    }

    if (v == NULL || !json_is_string(v)) {
        m->field = key;
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    s = (u_char *) json_string_value(v);
    n = json_string_length(v);

    /*
     * min and max count characters: jansson's strings are valid UTF-8;
     * a text of at most max bytes has at most max characters, and one of
     * at least min (1) bytes at least one, so only longer ones are counted
     */

    chars = n;

    if (n > max || min > 1) {
        for (i = 0, chars = 0; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                chars++;
            }
        }
    }

    if (chars < min || chars > max
        || hl_ref_text_ok(s, n, multiline) != NGX_OK)
    {
        m->field = key;
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    return NGX_HOTLINE_OK;
}


/*
 * printable text: no C0/C1 controls, DEL, or U+2028/U+2029; multiline 1
 * allows \n and \t (chat), 2 also \r (SDP lines end with CRLF)
 */

static ngx_int_t
hl_ref_text_ok(const u_char *p, size_t len, ngx_uint_t multiline)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (p[i] < 0x20) {
            if (multiline && (p[i] == '\n' || p[i] == '\t'
                              || (multiline == 2 && p[i] == '\r')))
            {
                continue;
            }

            return NGX_ERROR;
        }

        if (p[i] == 0x7f) {
            return NGX_ERROR;
        }

        /* C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F */

        if (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0) {
            return NGX_ERROR;
        }

        if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80
            && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_uint_t
hl_ref_get_hexid(json_t *root, const char *key, u_char *dst,
    ngx_http_hotline_msg_t *m)
{
    u_char      c, *s;
    json_t     *v;
    ngx_uint_t  i;

    v = json_object_get(root, key);

    if (v == NULL || !json_is_string(v) || json_string_length(v) != 32) {
        m->field = key;
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    s = (u_char *) json_string_value(v);

    for (i = 0; i < 32; i++) {
        c = s[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c = c - 'a' + 10;

        } else {
            m->field = key;
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        if (i % 2 == 0) {
            dst[i / 2] = (u_char) (c << 4);

        } else {
            dst[i / 2] |= c;
        }
    }

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
hl_ref_relay(json_t *root, ngx_http_hotline_msg_t *m,
    ngx_uint_t role, u_char *out, size_t size)
{
    u_char      *p, *last;
    json_t      *v;
    ngx_uint_t   rc, n;
    const char  *type, **key;

    static const char  *media[] = { "audio", "video", "screen", NULL };

    p = out;
    last = out + size;

    type = json_string_value(json_object_get(root, "type"));

    p = ngx_cpymem(p, "{\"type\":\"", sizeof("{\"type\":\"") - 1);
    p = ngx_cpymem(p, type, ngx_strlen(type));
    *p++ = '"';

    switch (m->type) {

    case NGX_HOTLINE_MSG_OFFER:
    case NGX_HOTLINE_MSG_ANSWER:
        rc = hl_ref_get_text(root, "sdp", 1, (size_t) -1, 2, 1,
                                       &v, m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        p = hl_ref_put_member(p, last, "sdp", v);
        break;

    case NGX_HOTLINE_MSG_CHAT:
        rc = hl_ref_get_text(root, "text", 1,
                                       NGX_HOTLINE_TEXT_MAX, 1, 1, &v, m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        p = hl_ref_put_member(p, last, "text", v);
        break;

    case NGX_HOTLINE_MSG_MEDIA:
        n = 0;

        for (key = media; *key; key++) {
            v = json_object_get(root, *key);

            if (v == NULL) {
                continue;
            }

            if (!json_is_boolean(v)) {
                m->field = *key;
                return NGX_HOTLINE_E_BAD_FIELD;
            }

            p = hl_ref_put_member(p, last, *key, v);
            n++;
        }

        if (n == 0) {
            m->field = "audio";
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        break;

    default: /* NGX_HOTLINE_MSG_ICE */
        v = json_object_get(root, "candidate");

        if (v == NULL) {
            m->field = "candidate";
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        rc = hl_ref_relay_ice(v, m, &p, last);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        break;
    }

    if (p == NULL || last - p < NGX_HOTLINE_RELAY_EXTRA) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    p = ngx_cpymem(p, ",\"from\":\"", sizeof(",\"from\":\"") - 1);

    if (role == 1) {
        p = ngx_cpymem(p, "customer\"", sizeof("customer\"") - 1);

    } else {
        p = ngx_cpymem(p, "agent\"", sizeof("agent\"") - 1);
    }

    m->out = out;
    m->out_len = p - out;

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
hl_ref_relay_ice(json_t *c, ngx_http_hotline_msg_t *m,
    u_char **pp, u_char *last)
{
    u_char      *p;
    json_t      *v;
    ngx_uint_t   rc;
    json_int_t   i;

    static const char  *allowed[] = {
        "candidate", "sdpMid", "sdpMLineIndex", "usernameFragment", NULL
    };

    p = *pp;

    if (json_is_null(c)) {
        p = ngx_cpymem(p, ",\"candidate\":null",
                       sizeof(",\"candidate\":null") - 1);
        *pp = p;
        return NGX_HOTLINE_OK;
    }

    if (!json_is_object(c)) {
        m->field = "candidate";
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    rc = hl_ref_check_members(c, allowed, m);
    if (rc != NGX_HOTLINE_OK) {
        m->field = "candidate";
        return rc;
    }

    p = ngx_cpymem(p, ",\"candidate\":{", sizeof(",\"candidate\":{") - 1);

    rc = hl_ref_get_text(c, "candidate", 0, 1024, 0, 1, &v, m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    p = hl_ref_put_member(p, last, "candidate", v) ;

    v = json_object_get(c, "sdpMid");

    if (v != NULL) {
        if (!json_is_null(v)) {
            rc = hl_ref_get_text(c, "sdpMid", 0, 64, 0, 1, &v, m);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }
        }

        p = hl_ref_put_member(p, last, "sdpMid", v);
    }

    v = json_object_get(c, "sdpMLineIndex");

    if (v != NULL) {
        if (!json_is_null(v)) {
            i = json_is_integer(v) ? json_integer_value(v) : -1;

            if (i < 0 || i > 255) {
                m->field = "sdpMLineIndex";
                return NGX_HOTLINE_E_BAD_FIELD;
            }
        }

        p = hl_ref_put_member(p, last, "sdpMLineIndex", v);
    }

    v = json_object_get(c, "usernameFragment");

    if (v != NULL) {
        if (!json_is_null(v)) {
            rc = hl_ref_get_text(c, "usernameFragment", 0, 256, 0,
                                           1, &v, m);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }
        }

        p = hl_ref_put_member(p, last, "usernameFragment", v);
    }

    if (p == NULL) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    *p++ = '}';
    *pp = p;

    return NGX_HOTLINE_OK;
}


/*
 * Appends ,"key":value (the first member after "{" of an object gets
 * no comma: the caller writes "type" first, or "candidate" opens with
 * "{" and its first member is always "candidate").  Strings are escaped
 * again by us: the client's escaping is never forwarded.  Returns NULL
 * when out of room; a NULL p is passed through.
 */

static u_char *
hl_ref_put_member(u_char *p, u_char *last, const char *key,
    json_t *v)
{
    size_t  n, need;

    if (p == NULL) {
        return NULL;
    }

    n = ngx_strlen(key);
    need = n + 8 + (json_is_string(v) ? 6 * json_string_length(v) : 24);

    if ((size_t) (last - p) < need) {
        return NULL;
    }

    if (p[-1] != '{') {
        *p++ = ',';
    }

    *p++ = '"';
    p = ngx_cpymem(p, key, n);
    *p++ = '"';
    *p++ = ':';

    if (json_is_string(v)) {
        return ngx_http_hotline_json_str(p, (u_char *) json_string_value(v),
                                         json_string_length(v));
    }

    if (json_is_true(v)) {
        return ngx_cpymem(p, "true", 4);
    }

    if (json_is_false(v)) {
        return ngx_cpymem(p, "false", 5);
    }

    if (json_is_integer(v)) {
        return p + snprintf((char *) p, 24, "%lld",
                            (long long) json_integer_value(v));
    }

    return ngx_cpymem(p, "null", 4);
}
