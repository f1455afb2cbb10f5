
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_json_scan.h"


/*
 * A message is read by the in-place tokenizer (no allocation, no copy of
 * what is relayed unless it has escapes); jansson only checks the rare
 * message the tokenizer cannot judge alone (a nested array, a real
 * number, ...: never a valid one), which is then tokenized again.
 */


/* the member names of the schema, and bits of them */
#define NGX_HOTLINE_K_TYPE           0
#define NGX_HOTLINE_K_ID             1
#define NGX_HOTLINE_K_NAME           2
#define NGX_HOTLINE_K_TOKEN          3
#define NGX_HOTLINE_K_LAST_SEQ       4
#define NGX_HOTLINE_K_CALL_ID        5
#define NGX_HOTLINE_K_SDP            6
#define NGX_HOTLINE_K_CANDIDATE      7
#define NGX_HOTLINE_K_TEXT           8
#define NGX_HOTLINE_K_AUDIO          9
#define NGX_HOTLINE_K_VIDEO          10
#define NGX_HOTLINE_K_SCREEN         11
#define NGX_HOTLINE_K_SDP_MID        12
#define NGX_HOTLINE_K_SDP_MLINE      13
#define NGX_HOTLINE_K_UFRAG          14

#define ngx_hotline_k(k)             (1u << NGX_HOTLINE_K_ ## k)


typedef ngx_http_hotline_json_obj_t  ngx_http_hotline_obj_t;
typedef ngx_http_hotline_json_val_t  ngx_http_hotline_val_t;


typedef struct {
    ngx_str_t     name;
    ngx_uint_t    type;
    ngx_uint_t    roles;             /* bit 1: customer, bit 2: agent */
    uint32_t      members;           /* besides type and id */
} ngx_http_hotline_type_t;


static ngx_int_t ngx_http_hotline_json_valid(u_char *data, size_t len);
static ngx_uint_t ngx_http_hotline_relay(ngx_http_hotline_obj_t *root,
    ngx_http_hotline_obj_t *cand, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_type_t *t, ngx_uint_t role, u_char *out, size_t size);
static ngx_uint_t ngx_http_hotline_relay_ice(ngx_http_hotline_obj_t *root,
    ngx_http_hotline_obj_t *c, ngx_http_hotline_msg_t *m, u_char **pp,
    u_char *last);
static u_char *ngx_http_hotline_put_member(u_char *p, u_char *last,
    ngx_uint_t key, ngx_http_hotline_val_t *v);
static u_char *ngx_http_hotline_put_digits(u_char *p, uint64_t v);
static u_char *ngx_http_hotline_proto_queue_transfer(u_char *p,
    ngx_http_hotline_queue_card_t *cd, int64_t now);


ngx_str_t  ngx_http_hotline_errors[] = {
    ngx_string("ok"),
    ngx_string("bad_json"),
    ngx_string("bad_type"),
    ngx_string("bad_field"),
    ngx_string("not_allowed"),
    ngx_string("bad_state"),
    ngx_string("not_found"),
    ngx_string("taken"),
    ngx_string("queue_full"),
    ngx_string("peer_backlog"),
    ngx_string("expired"),
    ngx_string("unavailable"),
    ngx_string("rate_limited"),
    ngx_string("internal"),
    ngx_string("daily_limit"),
    ngx_string("banned"),
    ngx_string("address_limit"),
    ngx_string("closed"),
    ngx_string("agent_unavailable"),
    ngx_string("full")
};


static const char  *ngx_http_hotline_error_text[] = {
    "ok",
    "the message is not a JSON object",
    "missing or unknown message type",
    "invalid member",
    "this role may not send this message",
    "not possible in the current state",
    "no such waiting call",
    "another agent accepted this call",
    "the queue is full",
    "the peer's buffer is full",
    "unknown or expired resume token",
    "the state store is temporarily unavailable",
    "too many messages",
    "internal error",
    "the daily call limit is reached, please call again tomorrow",
    "calls from this address are not accepted for now",
    "too many calls from this address are waiting already",
    "support is closed now",
    "that agent does not take calls now",
    "the call's record is full"
};


ngx_str_t  ngx_http_hotline_end_reasons[] = {
    ngx_string("hangup"),
    ngx_string("rejected"),
    ngx_string("cancelled"),
    ngx_string("gone"),
    ngx_string("banned"),
    ngx_string("message")
};


/* the index of an outcome's name; NGX_HOTLINE_END_MAX: not one */

ngx_uint_t
ngx_http_hotline_end_reason(u_char *name, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HOTLINE_END_MAX; i++) {
        if (len == ngx_http_hotline_end_reasons[i].len
            && ngx_strncmp(name, ngx_http_hotline_end_reasons[i].data, len)
               == 0)
        {
            break;
        }
    }

    return i;
}



/* two digits at a time: "00" .. "99" */
static u_char  ngx_http_hotline_pairs[] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* the digits of the last chat line's time: the lines of a turn share it */
static uint64_t  ngx_http_hotline_ts_ms;
static size_t    ngx_http_hotline_ts_len;
static u_char    ngx_http_hotline_ts_digits[NGX_INT64_LEN];


static ngx_str_t  ngx_http_hotline_keys[] = {
    ngx_string("type"),
    ngx_string("id"),
    ngx_string("name"),
    ngx_string("token"),
    ngx_string("last_seq"),
    ngx_string("call_id"),
    ngx_string("sdp"),
    ngx_string("candidate"),
    ngx_string("text"),
    ngx_string("audio"),
    ngx_string("video"),
    ngx_string("screen"),
    ngx_string("sdpMid"),
    ngx_string("sdpMLineIndex"),
    ngx_string("usernameFragment"),
    ngx_null_string
};


#define C  1
#define A  2

static ngx_http_hotline_type_t  ngx_http_hotline_types[] = {
    { ngx_string("join"),   NGX_HOTLINE_MSG_JOIN,   C,
      ngx_hotline_k(NAME) },
    { ngx_string("resume"), NGX_HOTLINE_MSG_RESUME, C|A,
      ngx_hotline_k(TOKEN) | ngx_hotline_k(LAST_SEQ) },
    { ngx_string("cancel"), NGX_HOTLINE_MSG_CANCEL, C,
      0 },
    { ngx_string("accept"), NGX_HOTLINE_MSG_ACCEPT, A,
      ngx_hotline_k(CALL_ID) },
    { ngx_string("reject"), NGX_HOTLINE_MSG_REJECT, A,
      ngx_hotline_k(CALL_ID) },
    { ngx_string("offer"),  NGX_HOTLINE_MSG_OFFER,  C|A,
      ngx_hotline_k(SDP) },
    { ngx_string("answer"), NGX_HOTLINE_MSG_ANSWER, C|A,
      ngx_hotline_k(SDP) },
    { ngx_string("ice"),    NGX_HOTLINE_MSG_ICE,    C|A,
      ngx_hotline_k(CANDIDATE) },
    { ngx_string("chat"),   NGX_HOTLINE_MSG_CHAT,   C|A,
      ngx_hotline_k(TEXT) },
    { ngx_string("media"),  NGX_HOTLINE_MSG_MEDIA,  C|A,
      ngx_hotline_k(AUDIO) | ngx_hotline_k(VIDEO) | ngx_hotline_k(SCREEN) },
    { ngx_string("hangup"), NGX_HOTLINE_MSG_HANGUP, C|A,
      0 },
    { ngx_string("ban"),    NGX_HOTLINE_MSG_BAN,    A,
      ngx_hotline_k(CALL_ID) },
    { ngx_string("connected"), NGX_HOTLINE_MSG_CONNECTED, C|A,
      0 },
    { ngx_null_string, 0, 0, 0 }
};

#undef C
#undef A


ngx_uint_t
ngx_http_hotline_proto_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_http_hotline_msg_t *m, u_char *out, size_t size)
{
    u_char                   *s, buf[16];
    size_t                    n;
    ngx_int_t                 rc;
    ngx_uint_t                i;
    ngx_http_hotline_val_t   *v;
    ngx_http_hotline_obj_t    root, cand;
    ngx_http_hotline_type_t  *t;

    ngx_memzero(m, sizeof(ngx_http_hotline_msg_t));

    rc = ngx_http_hotline_proto_scan(data, len, ngx_http_hotline_keys,
                                     NGX_HOTLINE_K_CANDIDATE, &root, &cand);

    if (rc != NGX_OK) {
        return NGX_HOTLINE_E_BAD_JSON;
    }

    /* the id first, so that every later error can echo it */

    rc = ngx_http_hotline_proto_id(&root, m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    v = ngx_http_hotline_json_get(&root, NGX_HOTLINE_K_TYPE);

    if (v == NULL || v->kind != NGX_HOTLINE_JSON_STRING
        || v->len > sizeof(buf))
    {
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    s = buf;
    n = v->len;
    ngx_http_hotline_json_decode(v, s, n);

    for (t = ngx_http_hotline_types; t->name.len; t++) {
        if (t->name.len == n && ngx_strncmp(t->name.data, s, n) == 0) {
            break;
        }
    }

    if (t->name.len == 0) {
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    m->type = t->type;

    if (!(t->roles & (1 << (role - 1)))) {
        return NGX_HOTLINE_E_NOT_ALLOWED;
    }

    rc = ngx_http_hotline_proto_members(&root, t->members, m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    switch (t->type) {

    case NGX_HOTLINE_MSG_JOIN:
        rc = ngx_http_hotline_proto_text(&root, NGX_HOTLINE_K_NAME, 1,
                                       NGX_HOTLINE_CUSTOMER_NAME, 0, &v, m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        n = v->len;

        if (n > NGX_HOTLINE_CUSTOMER_NAME_MAX) {
            m->field = "name";
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        /* the name goes on to the store: out holds it decoded */

        if (n > size) {
            return NGX_HOTLINE_E_INTERNAL;
        }

        ngx_http_hotline_json_decode(v, out, n);
        m->name = out;
        m->name_len = n;

        for (i = 0; i < n; i++) {
            if (out[i] != ' ') {
                break;
            }
        }

        if (i == n) {
            m->field = "name";
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_MSG_RESUME:
        rc = ngx_http_hotline_proto_hexid(&root, NGX_HOTLINE_K_TOKEN, m->token,
                                        m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        v = ngx_http_hotline_json_get(&root, NGX_HOTLINE_K_LAST_SEQ);

        if (v != NULL) {
            if (v->kind != NGX_HOTLINE_JSON_INTEGER || v->integer < 0) {
                m->field = "last_seq";
                return NGX_HOTLINE_E_BAD_FIELD;
            }

            m->last_seq = (uint64_t) v->integer;
        }

        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_MSG_ACCEPT:
        if (ngx_http_hotline_json_get(&root, NGX_HOTLINE_K_CALL_ID) == NULL) {
            return NGX_HOTLINE_OK;
        }

        /* fall through */

    case NGX_HOTLINE_MSG_REJECT:
    case NGX_HOTLINE_MSG_BAN:
        rc = ngx_http_hotline_proto_hexid(&root, NGX_HOTLINE_K_CALL_ID,
                                        m->call_id, m);
        m->has_call_id = (rc == NGX_HOTLINE_OK);
        return rc;

    case NGX_HOTLINE_MSG_OFFER:
    case NGX_HOTLINE_MSG_ANSWER:
    case NGX_HOTLINE_MSG_ICE:
    case NGX_HOTLINE_MSG_CHAT:
    case NGX_HOTLINE_MSG_MEDIA:
        m->relay = 1;
        return ngx_http_hotline_relay(&root, &cand, m, t, role, out, size);

    default: /* cancel, hangup */
        return NGX_HOTLINE_OK;
    }
}


/* the full parser's verdict on what the tokenizer declined */

/*
 * A message scanned for the member names keys (ngx_http_hotline_json_scan):
 * what the tokenizer declines is checked by jansson, then scanned trusted
 */

ngx_int_t
ngx_http_hotline_proto_scan(u_char *data, size_t len, ngx_str_t *keys,
    ngx_uint_t nested, ngx_http_hotline_json_obj_t *root,
    ngx_http_hotline_json_obj_t *inner)
{
    ngx_int_t  rc;

    rc = ngx_http_hotline_json_scan(data, len, keys, nested, root, inner, 0);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_hotline_json_valid(data, len);

        if (rc == NGX_OK) {
            rc = ngx_http_hotline_json_scan(data, len, keys, nested, root,
                                            inner, 1);
        }
    }

    return rc;
}


static ngx_int_t
ngx_http_hotline_json_valid(u_char *data, size_t len)
{
    json_t        *root;
    ngx_int_t      rc;
    json_error_t   err;

    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return NGX_ERROR;
    }

    rc = json_is_object(root) ? NGX_OK : NGX_ERROR;

    json_decref(root);

    return rc;
}


/* the message's id (keys[1]): 1-64 of [A-Za-z0-9_.:-], into m */

ngx_uint_t
ngx_http_hotline_proto_id(ngx_http_hotline_obj_t *o, ngx_http_hotline_msg_t *m)
{
    size_t                   n, i;
    ngx_http_hotline_val_t  *v;

    v = ngx_http_hotline_json_get(o, NGX_HOTLINE_K_ID);

    if (v == NULL) {
        return NGX_HOTLINE_OK;
    }

    n = (v->kind == NGX_HOTLINE_JSON_STRING) ? v->len : 0;

    if (n == 0 || n > NGX_HOTLINE_MSG_ID_MAX) {
        m->field = "id";
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    ngx_http_hotline_json_decode(v, m->id, n);

    for (i = 0; i < n; i++) {
        if (!(isalnum(m->id[i]) || m->id[i] == '_' || m->id[i] == '.'
              || m->id[i] == ':' || m->id[i] == '-'))
        {
            m->field = "id";
            return NGX_HOTLINE_E_BAD_FIELD;
        }
    }

    m->id_len = n;

    return NGX_HOTLINE_OK;
}


/* the first member (in the order written) that allowed does not name */

ngx_uint_t
ngx_http_hotline_proto_members(ngx_http_hotline_obj_t *o, uint32_t allowed,
    ngx_http_hotline_msg_t *m)
{
    u_char                   *key;
    uint32_t                  bad;
    ngx_uint_t                i, k, pos;
    ngx_http_hotline_val_t   *first;

    bad = o->present & ~(allowed | ngx_hotline_k(TYPE) | ngx_hotline_k(ID));

    first = o->other.pos ? &o->other : NULL;
    pos = first ? first->pos : NGX_MAX_UINT32_VALUE;
    key = NULL;

    for (k = 0; bad; k++, bad >>= 1) {
        if ((bad & 1) && o->member[k].pos < pos) {
            pos = o->member[k].pos;
            key = o->keys[k].data;
        }
    }

    if (key) {
        /* a name of the schema, in the wrong message */
        m->field = (const char *) key;
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    if (first == NULL) {
        return NGX_HOTLINE_OK;
    }

    /* echoed as is only if it is plainly printable */

    k = ngx_min(first->len, NGX_HOTLINE_FIELD_MAX);

    ngx_http_hotline_json_decode(first, m->field_buf, k);

    for (i = 0; i < k; i++) {
        if (m->field_buf[i] <= 0x20 || m->field_buf[i] >= 0x7f
            || m->field_buf[i] == '"' || m->field_buf[i] == '\\')
        {
            m->field_buf[i] = '?';
        }
    }

    m->field_buf[k] = '\0';
    m->field = (const char *) m->field_buf;

    return NGX_HOTLINE_E_BAD_FIELD;
}


/*
 * A string member (required) of min..max characters (UTF-8 code points)
 * of printable text: no C0 or C1 controls, DEL, U+2028 or U+2029;
 * multiline 1 allows \n and \t (chat), 2 also \r (SDP lines end with
 * CRLF).
 */

ngx_uint_t
ngx_http_hotline_proto_text(ngx_http_hotline_obj_t *o, ngx_uint_t key,
    size_t min, size_t max, ngx_uint_t multiline,
    ngx_http_hotline_val_t **value, ngx_http_hotline_msg_t *m)
{
    ngx_uint_t               bad;
    ngx_http_hotline_val_t  *v;

    v = ngx_http_hotline_json_get(o, key);
    *value = v;

    bad = NGX_HOTLINE_JSON_CONTROL;

    if (multiline < 1) {
        bad |= NGX_HOTLINE_JSON_LF_TAB;
    }

    if (multiline < 2) {
        bad |= NGX_HOTLINE_JSON_CR;
    }

    if (v == NULL || v->kind != NGX_HOTLINE_JSON_STRING
        || v->chars < min || v->chars > max || (v->flags & bad))
    {
        m->field = (const char *) o->keys[key].data;
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    return NGX_HOTLINE_OK;
}


ngx_uint_t
ngx_http_hotline_proto_hexid(ngx_http_hotline_obj_t *o, ngx_uint_t key,
    u_char *dst, ngx_http_hotline_msg_t *m)
{
    u_char                   c, s[32];
    ngx_uint_t               i;
    ngx_http_hotline_val_t  *v;

    v = ngx_http_hotline_json_get(o, key);

    if (v == NULL || v->kind != NGX_HOTLINE_JSON_STRING || v->len != 32) {
        goto bad;
    }

    ngx_http_hotline_json_decode(v, s, 32);

    for (i = 0; i < 32; i++) {
        c = s[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c = c - 'a' + 10;

        } else {
            goto bad;
        }

        if (i % 2 == 0) {
            dst[i / 2] = (u_char) (c << 4);

        } else {
            dst[i / 2] |= c;
        }
    }

    return NGX_HOTLINE_OK;

bad:

    m->field = (const char *) o->keys[key].data;
    return NGX_HOTLINE_E_BAD_FIELD;
}


static ngx_uint_t
ngx_http_hotline_relay(ngx_http_hotline_obj_t *root,
    ngx_http_hotline_obj_t *cand, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_type_t *t, ngx_uint_t role, u_char *out, size_t size)
{
    u_char                  *p, *last;
    ngx_uint_t               rc, n, k;
    ngx_http_hotline_val_t  *v;

    p = out;
    last = out + size;

    p = ngx_cpymem(p, "{\"type\":\"", sizeof("{\"type\":\"") - 1);
    p = ngx_cpymem(p, t->name.data, t->name.len);
    *p++ = '"';

    switch (m->type) {

    case NGX_HOTLINE_MSG_OFFER:
    case NGX_HOTLINE_MSG_ANSWER:
        rc = ngx_http_hotline_proto_text(root, NGX_HOTLINE_K_SDP, 1,
                                       (size_t) -1, 2, &v, m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_SDP, v);
        break;

    case NGX_HOTLINE_MSG_CHAT:
        rc = ngx_http_hotline_proto_text(root, NGX_HOTLINE_K_TEXT, 1,
                                       NGX_HOTLINE_TEXT_MAX, 1, &v, m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_TEXT, v);
        break;

    case NGX_HOTLINE_MSG_MEDIA:
        n = 0;

        for (k = NGX_HOTLINE_K_AUDIO; k <= NGX_HOTLINE_K_SCREEN; k++) {
            v = ngx_http_hotline_json_get(root, k);

            if (v == NULL) {
                continue;
            }

            if (v->kind != NGX_HOTLINE_JSON_TRUE
                && v->kind != NGX_HOTLINE_JSON_FALSE)
            {
                m->field = (const char *) ngx_http_hotline_keys[k].data;
                return NGX_HOTLINE_E_BAD_FIELD;
            }

            p = ngx_http_hotline_put_member(p, last, k, v);
            n++;
        }

        if (n == 0) {
            m->field = "audio";
            return NGX_HOTLINE_E_BAD_FIELD;
        }

        break;

    default: /* NGX_HOTLINE_MSG_ICE */
        rc = ngx_http_hotline_relay_ice(root, cand, m, &p, last);
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
ngx_http_hotline_relay_ice(ngx_http_hotline_obj_t *root,
    ngx_http_hotline_obj_t *c, ngx_http_hotline_msg_t *m, u_char **pp,
    u_char *last)
{
    u_char                  *p;
    int64_t                  i;
    ngx_uint_t               rc;
    ngx_http_hotline_val_t  *v;

    p = *pp;

    v = ngx_http_hotline_json_get(root, NGX_HOTLINE_K_CANDIDATE);

    if (v == NULL) {
        m->field = "candidate";
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    if (v->kind == NGX_HOTLINE_JSON_NULL) {
        p = ngx_cpymem(p, ",\"candidate\":null",
                       sizeof(",\"candidate\":null") - 1);
        *pp = p;
        return NGX_HOTLINE_OK;
    }

    if (v->kind != NGX_HOTLINE_JSON_OBJECT) {
        m->field = "candidate";
        return NGX_HOTLINE_E_BAD_FIELD;
    }

    rc = ngx_http_hotline_proto_members(c, ngx_hotline_k(CANDIDATE)
                                           | ngx_hotline_k(SDP_MID)
                                           | ngx_hotline_k(SDP_MLINE)
                                           | ngx_hotline_k(UFRAG), m);
    if (rc != NGX_HOTLINE_OK) {
        m->field = "candidate";
        return rc;
    }

    p = ngx_cpymem(p, ",\"candidate\":{", sizeof(",\"candidate\":{") - 1);

    rc = ngx_http_hotline_proto_text(c, NGX_HOTLINE_K_CANDIDATE, 0, 1024, 0, &v,
                                   m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_CANDIDATE, v);

    v = ngx_http_hotline_json_get(c, NGX_HOTLINE_K_SDP_MID);

    if (v != NULL) {
        if (v->kind != NGX_HOTLINE_JSON_NULL) {
            rc = ngx_http_hotline_proto_text(c, NGX_HOTLINE_K_SDP_MID, 0, 64, 0,
                                           &v, m);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }
        }

        p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_SDP_MID, v);
    }

    v = ngx_http_hotline_json_get(c, NGX_HOTLINE_K_SDP_MLINE);

    if (v != NULL) {
        if (v->kind != NGX_HOTLINE_JSON_NULL) {
            i = (v->kind == NGX_HOTLINE_JSON_INTEGER) ? v->integer : -1;

            if (i < 0 || i > 255) {
                m->field = "sdpMLineIndex";
                return NGX_HOTLINE_E_BAD_FIELD;
            }
        }

        p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_SDP_MLINE, v);
    }

    v = ngx_http_hotline_json_get(c, NGX_HOTLINE_K_UFRAG);

    if (v != NULL) {
        if (v->kind != NGX_HOTLINE_JSON_NULL) {
            rc = ngx_http_hotline_proto_text(c, NGX_HOTLINE_K_UFRAG, 0, 256, 0,
                                           &v, m);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }
        }

        p = ngx_http_hotline_put_member(p, last, NGX_HOTLINE_K_UFRAG, v);
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
ngx_http_hotline_put_member(u_char *p, u_char *last, ngx_uint_t key,
    ngx_http_hotline_val_t *v)
{
    size_t      n, need;
    ngx_str_t  *name;

    if (p == NULL) {
        return NULL;
    }

    name = &ngx_http_hotline_keys[key];
    n = name->len;
    need = n + 8 + (v->kind == NGX_HOTLINE_JSON_STRING ? 6 * v->len : 24);

    if ((size_t) (last - p) < need) {
        return NULL;
    }

    if (p[-1] != '{') {
        *p++ = ',';
    }

    *p++ = '"';
    p = ngx_cpymem(p, name->data, n);
    *p++ = '"';
    *p++ = ':';

    switch (v->kind) {

    case NGX_HOTLINE_JSON_STRING:
        return ngx_http_hotline_json_copy(p, v);

    case NGX_HOTLINE_JSON_TRUE:
        return ngx_cpymem(p, "true", 4);

    case NGX_HOTLINE_JSON_FALSE:
        return ngx_cpymem(p, "false", 5);

    case NGX_HOTLINE_JSON_INTEGER:
        if (v->integer < 0) {
            *p++ = '-';
            return ngx_http_hotline_put_digits(p, 0 - (uint64_t) v->integer);
        }

        return ngx_http_hotline_put_digits(p, (uint64_t) v->integer);

    default:
        return ngx_cpymem(p, "null", 4);
    }
}


/* a JSON string literal; needs 6 * len + 2 bytes at most */

u_char *
ngx_http_hotline_json_str(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';
    p = ngx_http_hotline_json_escape(p, s, len);
    *p++ = '"';

    return p;
}


static u_char *
ngx_http_hotline_hexid(u_char *p, u_char *raw)
{
    ngx_uint_t  i;

    static const u_char  hex[] = "0123456789abcdef";

    *p++ = '"';

    for (i = 0; i < 16; i++) {
        *p++ = hex[raw[i] >> 4];
        *p++ = hex[raw[i] & 0xf];
    }

    *p++ = '"';

    return p;
}


/* room: NGX_HOTLINE_ERROR_MAX bytes */

u_char *
ngx_http_hotline_proto_error(u_char *p, ngx_uint_t code,
    ngx_http_hotline_msg_t *m)
{
    const char  *text;

    if (code >= NGX_HOTLINE_E_MAX) {
        code = NGX_HOTLINE_E_INTERNAL;
    }

    p = ngx_cpymem(p, "{\"type\":\"error\",\"code\":\"",
                   sizeof("{\"type\":\"error\",\"code\":\"") - 1);
    p = ngx_cpymem(p, ngx_http_hotline_errors[code].data,
                   ngx_http_hotline_errors[code].len);
    p = ngx_cpymem(p, "\",\"message\":", sizeof("\",\"message\":") - 1);

    text = ngx_http_hotline_error_text[code];
    p = ngx_http_hotline_json_str(p, (u_char *) text, ngx_strlen(text));

    if (m != NULL && m->id_len) {
        p = ngx_cpymem(p, ",\"id\":", sizeof(",\"id\":") - 1);
        p = ngx_http_hotline_json_str(p, m->id, m->id_len);
    }

    if (m != NULL && m->field) {
        p = ngx_cpymem(p, ",\"field\":", sizeof(",\"field\":") - 1);
        p = ngx_http_hotline_json_str(p, (u_char *) m->field,
                                      ngx_strlen(m->field));
    }

    *p++ = '}';

    return p;
}


u_char *
ngx_http_hotline_proto_ack(u_char *p, u_char *id, size_t len)
{
    p = ngx_cpymem(p, "{\"type\":\"ack\",\"id\":",
                   sizeof("{\"type\":\"ack\",\"id\":") - 1);
    p = ngx_http_hotline_json_str(p, id, len);
    *p++ = '}';

    return p;
}


/* room: 512 bytes */

u_char *
ngx_http_hotline_proto_welcome(u_char *p, ngx_uint_t role, u_char *resume,
    u_char *call_id, u_char *sub, size_t sub_len, ngx_uint_t resumed,
    ngx_uint_t gap)
{
    p = ngx_cpymem(p, "{\"type\":\"welcome\",\"role\":",
                   sizeof("{\"type\":\"welcome\",\"role\":") - 1);

    if (role == 1) {
        p = ngx_cpymem(p, "\"customer\"", sizeof("\"customer\"") - 1);

    } else {
        p = ngx_cpymem(p, "\"agent\",\"agent\":",
                       sizeof("\"agent\",\"agent\":") - 1);
        p = ngx_http_hotline_json_str(p, sub, sub_len);
    }

    p = ngx_cpymem(p, ",\"resume\":", sizeof(",\"resume\":") - 1);
    p = ngx_http_hotline_hexid(p, resume);

    if (call_id != NULL) {
        p = ngx_cpymem(p, ",\"call_id\":", sizeof(",\"call_id\":") - 1);
        p = ngx_http_hotline_hexid(p, call_id);
    }

    p = ngx_cpymem(p, ",\"resumed\":", sizeof(",\"resumed\":") - 1);
    p = resumed ? ngx_cpymem(p, "true", 4) : ngx_cpymem(p, "false", 5);

    if (resumed) {
        p = ngx_cpymem(p, ",\"gap\":", sizeof(",\"gap\":") - 1);
        p = gap ? ngx_cpymem(p, "true", 4) : ngx_cpymem(p, "false", 5);
    }

    *p++ = '}';

    return p;
}


/* eta (ngx_uint_t) -1: unknown, no agent takes calls; room: 160 */

u_char *
ngx_http_hotline_proto_position(u_char *p, u_char *call_id,
    ngx_uint_t position, ngx_uint_t eta, ngx_uint_t agents)
{
    p = ngx_cpymem(p, "{\"type\":\"position\",\"call_id\":",
                   sizeof("{\"type\":\"position\",\"call_id\":") - 1);
    p = ngx_http_hotline_hexid(p, call_id);
    p += snprintf((char *) p, 64, ",\"position\":%lu,\"eta\":",
                  (unsigned long) position);

    if (eta == (ngx_uint_t) -1) {
        p = ngx_cpymem(p, "null", 4);

    } else {
        p += snprintf((char *) p, 32, "%lu", (unsigned long) eta);
    }

    p += snprintf((char *) p, 32, ",\"agents\":%lu}", (unsigned long) agents);

    return p;
}


size_t
ngx_http_hotline_proto_queue_size(ngx_http_hotline_queue_t *q)
{
    ngx_uint_t  n;

    n = q->n < NGX_HOTLINE_QUEUE_LIST_MAX ? q->n : NGX_HOTLINE_QUEUE_LIST_MAX;

    return 256 + n * (64 + 6 * NGX_HOTLINE_CUSTOMER_NAME_MAX + 64
                      + 6 * (64 + 128 + 64) + 128);
}


u_char *
ngx_http_hotline_proto_queue(u_char *p, ngx_http_hotline_queue_t *q,
    int64_t now)
{
    int64_t                         waiting;
    ngx_uint_t                      i, n;
    ngx_http_hotline_queue_card_t  *cd;

    p = ngx_cpymem(p, "{\"type\":\"queue\",\"calls\":[",
                   sizeof("{\"type\":\"queue\",\"calls\":[") - 1);

    n = q->n < NGX_HOTLINE_QUEUE_LIST_MAX ? q->n : NGX_HOTLINE_QUEUE_LIST_MAX;

    for (i = 0; i < n; i++) {
        cd = &q->cards[i];

        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"call_id\":", sizeof("{\"call_id\":") - 1);
        p = ngx_http_hotline_hexid(p, cd->call_id);
        p = ngx_cpymem(p, ",\"name\":", sizeof(",\"name\":") - 1);
        p = ngx_http_hotline_json_str(p, cd->name, cd->name_len);

        waiting = (now - cd->joined) / 1000;
        if (waiting < 0) {
            waiting = 0;
        }

        p += snprintf((char *) p, 32, ",\"waiting\":%lld",
                      (long long) waiting);

        if (cd->from_len) {
            p = ngx_http_hotline_proto_queue_transfer(p, cd, now);
        }

        *p++ = '}';
    }

    p += snprintf((char *) p, 224,
                  "],\"total\":%lu,\"agents\":{\"online\":%lu,\"busy\":%lu,"
                  "\"away\":%lu,\"wrapup\":%lu,\"available\":%lu},"
                  "\"messages\":%lu}",
                  (unsigned long) q->total, (unsigned long) q->agents_online,
                  (unsigned long) q->agents_busy,
                  (unsigned long) q->agents_away,
                  (unsigned long) q->agents_wrapup,
                  (unsigned long) q->agents_available,
                  (unsigned long) q->messages);

    return p;
}


/*
 * a transferred call's ,"transfer":{...} in the queue: from whom, why, and
 * for whom until when while it is held for that agent (room: 6 * 256 + 96)
 */

static u_char *
ngx_http_hotline_proto_queue_transfer(u_char *p,
    ngx_http_hotline_queue_card_t *cd, int64_t now)
{
    p = ngx_cpymem(p, ",\"transfer\":{\"from\":",
                   sizeof(",\"transfer\":{\"from\":") - 1);
    p = ngx_http_hotline_json_str(p, cd->from, cd->from_len);
    p = ngx_cpymem(p, ",\"reason\":", sizeof(",\"reason\":") - 1);
    p = ngx_http_hotline_json_str(p, cd->why, cd->why_len);

    if (cd->target_len && cd->until > now) {
        p = ngx_cpymem(p, ",\"to\":", sizeof(",\"to\":") - 1);
        p = ngx_http_hotline_json_str(p, cd->target, cd->target_len);
        p += snprintf((char *) p, 32, ",\"until\":%lld",
                      (long long) cd->until);
    }

    *p++ = '}';

    return p;
}


/* the caller appends ,"recording":{...} when the call is recorded */

u_char *
ngx_http_hotline_proto_accepted(u_char *p, u_char *call_id,
    ngx_uint_t peer_role, u_char *name, size_t name_len)
{
    p = ngx_cpymem(p, "{\"type\":\"accepted\",\"call_id\":",
                   sizeof("{\"type\":\"accepted\",\"call_id\":") - 1);
    p = ngx_http_hotline_hexid(p, call_id);

    if (peer_role == 1) {
        p = ngx_cpymem(p, ",\"peer\":{\"role\":\"customer\",\"name\":",
                   sizeof(",\"peer\":{\"role\":\"customer\",\"name\":") - 1);

    } else {
        p = ngx_cpymem(p, ",\"peer\":{\"role\":\"agent\",\"name\":",
                       sizeof(",\"peer\":{\"role\":\"agent\",\"name\":") - 1);
    }

    p = ngx_http_hotline_json_str(p, name, name_len);
    *p++ = '}';

    return p;
}


u_char *
ngx_http_hotline_proto_peer(u_char *p, ngx_uint_t back)
{
    if (back) {
        return ngx_cpymem(p, "{\"type\":\"peer\",\"state\":\"back\"",
                          sizeof("{\"type\":\"peer\",\"state\":\"back\"") - 1);
    }

    return ngx_cpymem(p, "{\"type\":\"peer\",\"state\":\"reconnecting\"",
                   sizeof("{\"type\":\"peer\",\"state\":\"reconnecting\"") - 1);
}


/* messages first to last were lost (the message's seq is the last) */

u_char *
ngx_http_hotline_proto_gap(u_char *p, uint64_t first, uint64_t last)
{
    p = ngx_cpymem(p, "{\"type\":\"gap\",\"from\":",
                   sizeof("{\"type\":\"gap\",\"from\":") - 1);
    p = ngx_http_hotline_put_digits(p, first);
    p = ngx_cpymem(p, ",\"to\":", sizeof(",\"to\":") - 1);

    return ngx_http_hotline_put_digits(p, last);
}


u_char *
ngx_http_hotline_proto_ended(u_char *p, u_char *call_id, ngx_uint_t reason,
    ngx_uint_t by, ngx_uint_t duration)
{
    p = ngx_cpymem(p, "{\"type\":\"ended\",\"call_id\":",
                   sizeof("{\"type\":\"ended\",\"call_id\":") - 1);
    p = ngx_http_hotline_hexid(p, call_id);
    p = ngx_cpymem(p, ",\"reason\":\"", sizeof(",\"reason\":\"") - 1);
    p = ngx_cpymem(p, ngx_http_hotline_end_reasons[reason].data,
                   ngx_http_hotline_end_reasons[reason].len);
    *p++ = '"';

    if (reason == NGX_HOTLINE_END_HANGUP) {
        p = ngx_cpymem(p, ",\"by\":", sizeof(",\"by\":") - 1);
        p = (by == 1) ? ngx_cpymem(p, "\"customer\"", 10)
                      : ngx_cpymem(p, "\"agent\"", 7);
    }

    p += snprintf((char *) p, 32, ",\"duration\":%lu",
                  (unsigned long) duration);

    return p;
}


u_char *
ngx_http_hotline_proto_seq(u_char *p, uint64_t seq)
{
    p = ngx_cpymem(p, ",\"seq\":", sizeof(",\"seq\":") - 1);
    p = ngx_http_hotline_put_digits(p, seq);
    *p++ = '}';

    return p;
}


/* a chat line's time on the server's clock, ms since the epoch */

u_char *
ngx_http_hotline_proto_ts(u_char *p, uint64_t ms)
{
    p = ngx_cpymem(p, ",\"ts\":", sizeof(",\"ts\":") - 1);

    if (ms != ngx_http_hotline_ts_ms || ngx_http_hotline_ts_len == 0) {
        ngx_http_hotline_ts_len = ngx_http_hotline_put_digits(
                                              ngx_http_hotline_ts_digits, ms)
                                  - ngx_http_hotline_ts_digits;
        ngx_http_hotline_ts_ms = ms;
    }

    return ngx_cpymem(p, ngx_http_hotline_ts_digits, ngx_http_hotline_ts_len);
}


/* on every message delivered: digits without snprintf's machinery */

static u_char *
ngx_http_hotline_put_digits(u_char *p, uint64_t v)
{
    u_char      *d, digits[NGX_INT64_LEN];
    ngx_uint_t   i;

    d = digits + sizeof(digits);

    while (v >= 100) {
        i = (ngx_uint_t) (v % 100) * 2;
        v /= 100;
        *--d = ngx_http_hotline_pairs[i + 1];
        *--d = ngx_http_hotline_pairs[i];
    }

    if (v >= 10) {
        i = (ngx_uint_t) v * 2;
        *--d = ngx_http_hotline_pairs[i + 1];
        *--d = ngx_http_hotline_pairs[i];

    } else {
        *--d = (u_char) ('0' + v);
    }

    return ngx_cpymem(p, d, digits + sizeof(digits) - d);
}
