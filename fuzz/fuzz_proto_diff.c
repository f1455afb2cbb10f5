
/*
 * Copyright (C) hotline authors
 */


/*
 * Differential libFuzzer target for the signaling message parser, with
 * jansson as the oracle, on any bytes as either role:
 *
 * 1. the tokenizer (src/ngx_http_hotline_json_scan.c) against jansson's
 *    json_loadb(JSON_REJECT_DUPLICATES): an object it accepts, jansson
 *    accepts as an object, and one it rejects, jansson rejects (what it
 *    declines, it must then read trusted); every member it tabulates is
 *    jansson's member of that name, of the same kind, place and value
 *    (strings decoded byte for byte, and their flags and escaped copy
 *    as computed from jansson's decoded value);
 * 2. the module's parser against the parser as it was on jansson alone
 *    (proto_jansson.c): the same code, type, id, field, decoded name,
 *    tokens and call ids, and byte for byte the same relayed message;
 * 3. for what it answers bad_type, the support desk's parser against
 *    its jansson version (proto_desk_jansson.c): the same code, type, id,
 *    field, ids, choices and decoded texts.
 *
 * HL_FUZZ_STATS=1 in the environment prints at exit how many inputs the
 * tokenizer accepted, rejected and declined.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_proto_desk.h"
#include "ngx_http_hotline_json_scan.h"
#include "proto_jansson.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define hl_check(cond)  if (!(cond)) { __builtin_trap(); }

/* the schema's names, "candidate" (7) tabulated one level down */
static ngx_str_t  hl_keys[] = {
    ngx_string("type"), ngx_string("id"), ngx_string("name"),
    ngx_string("token"), ngx_string("last_seq"), ngx_string("call_id"),
    ngx_string("sdp"), ngx_string("candidate"), ngx_string("text"),
    ngx_string("audio"), ngx_string("video"), ngx_string("screen"),
    ngx_string("sdpMid"), ngx_string("sdpMLineIndex"),
    ngx_string("usernameFragment"), ngx_null_string
};

#define HL_NESTED  7

static unsigned long  hl_stats[3];


static void
hl_print_stats(void)
{
    fprintf(stderr, "fuzz_proto_diff: tokenizer accepted %lu, rejected %lu,"
            " declined %lu\n", hl_stats[0], hl_stats[1], hl_stats[2]);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    if (getenv("HL_FUZZ_STATS")) {
        atexit(hl_print_stats);
    }

    return 0;
}


/* a scanned string against jansson's decoded value */

static void
hl_check_string(ngx_http_hotline_json_val_t *v, const u_char *s, size_t n)
{
    u_char      *buf, *copy, *ref, *p, *q;
    size_t       i, chars;
    ngx_uint_t   flags;

    hl_check(v->len == n);

    buf = malloc(n + 1);
    copy = malloc(6 * n + 2);
    ref = malloc(6 * n + 2);
    hl_check(buf && copy && ref);

    ngx_http_hotline_json_decode(v, buf, n);
    hl_check(ngx_memcmp(buf, s, n) == 0);

    /* a truncated decode is a prefix */
    if (n > 1) {
        memset(buf, 0, n);
        ngx_http_hotline_json_decode(v, buf, n / 2);
        hl_check(ngx_memcmp(buf, s, n / 2) == 0);
        hl_check(buf[n / 2] == 0);
    }

    /* the flags, from the source and from the decoded value */

    flags = 0;

    for (p = v->start; p < v->end; p++) {
        if (*p == 0x7f) {
            flags |= NGX_HOTLINE_JSON_REWRITE;

        } else if (*p == '\\') {
            flags |= NGX_HOTLINE_JSON_ESCAPED;
            p++;

            if (!strchr("\"\\nrt", *p)) {
                flags |= NGX_HOTLINE_JSON_REWRITE;
            }
        }
    }

    for (i = 0; i < n; i++) {
        if (s[i] == '\n' || s[i] == '\t') {
            flags |= NGX_HOTLINE_JSON_LF_TAB;

        } else if (s[i] == '\r') {
            flags |= NGX_HOTLINE_JSON_CR;

        } else if (s[i] < 0x20 || s[i] == 0x7f
                   || (s[i] == 0xc2 && i + 1 < n && s[i + 1] < 0xa0)
                   || (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80
                       && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)))
        {
            flags |= NGX_HOTLINE_JSON_CONTROL;
        }
    }

    hl_check(v->flags == flags);

    /* the length in characters: the bytes that do not continue one */

    for (i = 0, chars = 0; i < n; i++) {
        chars += ((s[i] & 0xc0) != 0x80);
    }

    hl_check(v->chars == chars);

    /* the copy is escaped as json_str escapes the decoded value */

    p = ngx_http_hotline_json_copy(copy, v);
    q = ngx_http_hotline_json_str(ref, (u_char *) s, n);
    hl_check(p - copy == q - ref && ngx_memcmp(copy, ref, p - copy) == 0);

    free(buf);
    free(copy);
    free(ref);
}


static void
hl_check_value(ngx_http_hotline_json_val_t *v, json_t *j)
{
    switch (v->kind) {

    case NGX_HOTLINE_JSON_STRING:
        hl_check(json_is_string(j));
        hl_check_string(v, (u_char *) json_string_value(j),
                        json_string_length(j));
        break;

    case NGX_HOTLINE_JSON_INTEGER:
        hl_check(json_is_integer(j) && json_integer_value(j) == v->integer);
        break;

    case NGX_HOTLINE_JSON_REAL:
        hl_check(json_is_real(j));
        break;

    case NGX_HOTLINE_JSON_TRUE:
        hl_check(json_is_true(j));
        break;

    case NGX_HOTLINE_JSON_FALSE:
        hl_check(json_is_false(j));
        break;

    case NGX_HOTLINE_JSON_NULL:
        hl_check(json_is_null(j));
        break;

    case NGX_HOTLINE_JSON_OBJECT:
        hl_check(json_is_object(j));
        break;

    case NGX_HOTLINE_JSON_ARRAY:
        hl_check(json_is_array(j));
        break;

    default:
        __builtin_trap();
    }
}


/* a tabulated object against jansson's, member by member, in order */

static void
hl_check_object(ngx_http_hotline_json_obj_t *o, json_t *j)
{
    void         *it;
    size_t        n;
    ngx_uint_t    k, pos, seen, other;
    const char   *key;

    seen = 0;
    other = 0;
    pos = 0;

    for (it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
        key = json_object_iter_key(it);
        n = strlen(key);
        pos++;

        for (k = 0; hl_keys[k].len; k++) {
            if (hl_keys[k].len == n && memcmp(hl_keys[k].data, key, n) == 0) {
                break;
            }
        }

        if (hl_keys[k].len) {
            hl_check(o->present & (1u << k));
            hl_check(o->member[k].pos == pos);
            hl_check_value(&o->member[k], json_object_iter_value(it));
            seen |= 1u << k;
            continue;
        }

        if (!other) {
            other = pos;
            hl_check(o->other.pos == pos);
            hl_check_string(&o->other, (u_char *) key, n);
        }
    }

    hl_check(seen == o->present);
    hl_check(other || o->other.pos == 0);
}


static void
hl_check_scan(u_char *data, size_t size)
{
    json_t                       *j, *c;
    ngx_int_t                     rc;
    json_error_t                  err;
    ngx_http_hotline_json_obj_t   root, inner;

    rc = ngx_http_hotline_json_scan(data, size, hl_keys, HL_NESTED, &root,
                                    &inner, 0);

    j = json_loadb((char *) data, size, JSON_REJECT_DUPLICATES, &err);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }

    hl_stats[rc == NGX_OK ? 0 : rc == NGX_ERROR ? 1 : 2]++;

    if (rc == NGX_ERROR) {
        hl_check(j == NULL);
        return;
    }

    if (rc == NGX_DECLINED) {
        if (j == NULL) {
            return;
        }

        rc = ngx_http_hotline_json_scan(data, size, hl_keys, HL_NESTED,
                                        &root, &inner, 1);
    }

    hl_check(rc == NGX_OK && j != NULL);

    hl_check_object(&root, j);

    c = json_object_get(j, "candidate");

    if (c && json_is_object(c)) {
        hl_check_object(&inner, c);

    } else {
        hl_check(inner.present == 0 && inner.other.pos == 0);
    }

    json_decref(j);
}


static void
hl_check_str(ngx_str_t *a, ngx_str_t *b)
{
    hl_check(a->len == b->len);
    hl_check(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


/* a desk message: the tokenizer's parser against jansson's */

static void
hl_check_desk(u_char *data, size_t size, ngx_uint_t role)
{
    u_char                        *out1, *out2;
    size_t                         room;
    ngx_uint_t                     rc1, rc2;
    ngx_array_t                    dispositions;
    ngx_http_hotline_msg_t         m1, m2;
    ngx_http_hotline_desk_msg_t    d1, d2;

    static ngx_str_t  names[] = {
        ngx_string("resolved"), ngx_string("callback"), ngx_string("spam")
    };

    dispositions.elts = names;
    dispositions.nelts = 3;
    dispositions.size = sizeof(ngx_str_t);

    room = 6 * size + 1024;

    out1 = malloc(room);
    out2 = malloc(room);
    hl_check(out1 && out2);

    /* as the signaling parser leaves them for an unknown type */
    ngx_memzero(&m1, sizeof(m1));
    ngx_memzero(&m2, sizeof(m2));
    ngx_memzero(&d1, sizeof(d1));
    ngx_memzero(&d2, sizeof(d2));

    rc1 = ngx_http_hotline_desk_parse(data, size, role, &dispositions, &m1,
                                      &d1, out1, room);
    rc2 = hl_ref_desk_parse(data, size, role, &dispositions, &m2, &d2, out2,
                            room);

    hl_check(rc1 == rc2);
    hl_check(m1.type == m2.type);
    hl_check(m1.id_len == m2.id_len);
    hl_check(memcmp(m1.id, m2.id, m1.id_len) == 0);
    hl_check((m1.field == NULL) == (m2.field == NULL));
    hl_check(m1.field == NULL || strcmp(m1.field, m2.field) == 0);
    hl_check(m1.has_call_id == m2.has_call_id);
    hl_check(!m1.has_call_id || memcmp(m1.call_id, m2.call_id, 16) == 0);

    if (rc1 == NGX_HOTLINE_OK) {
        hl_check(d1.presence == d2.presence);
        hl_check(d1.on == d2.on);
        hl_check(d1.rating == d2.rating);
        hl_check(d1.callback == d2.callback);
        hl_check(d1.disposition == d2.disposition);
        hl_check_str(&d1.to, &d2.to);
        hl_check_str(&d1.reason, &d2.reason);
        hl_check_str(&d1.text, &d2.text);
        hl_check_str(&d1.comment, &d2.comment);
        hl_check_str(&d1.name, &d2.name);
        hl_check_str(&d1.contact, &d2.contact);

        if (m1.type == NGX_HOTLINE_MSG_RATE) {
            hl_check(memcmp(m1.token, m2.token, 16) == 0);
        }
    }

    free(out1);
    free(out2);
}


static void
hl_check_parse(u_char *data, size_t size, ngx_uint_t role)
{
    u_char                  *out1, *out2, *copy1, *copy2;
    size_t                   room;
    ngx_uint_t               rc1, rc2;
    ngx_http_hotline_msg_t   m1, m2;

    /* the module passes a buffer this large */

    room = 6 * size + 1024;

    out1 = malloc(room);
    out2 = malloc(room);
    copy1 = malloc(size + 1);
    copy2 = malloc(size + 1);
    hl_check(out1 && out2 && copy1 && copy2);

    memcpy(copy1, data, size);
    memcpy(copy2, data, size);

    rc1 = ngx_http_hotline_proto_parse(copy1, size, role, &m1, out1, room);
    rc2 = hl_ref_proto_parse(copy2, size, role, &m2, out2, room);

    /* the parser does not write into its input */
    hl_check(memcmp(copy1, data, size) == 0);

    hl_check(rc1 == rc2);

    if (rc1 == NGX_HOTLINE_E_BAD_TYPE) {
        /* the session asks the desk's parser next */
        hl_check_desk(copy1, size, role);
    }

    hl_check(m1.type == m2.type);
    hl_check(m1.relay == m2.relay);
    hl_check(m1.id_len == m2.id_len);
    hl_check(memcmp(m1.id, m2.id, m1.id_len) == 0);
    hl_check((m1.field == NULL) == (m2.field == NULL));
    hl_check(m1.field == NULL || strcmp(m1.field, m2.field) == 0);

    if (rc1 == NGX_HOTLINE_OK) {

        switch (m1.type) {

        case NGX_HOTLINE_MSG_JOIN:
            hl_check(m1.name_len == m2.name_len);
            hl_check(memcmp(m1.name, m2.name, m1.name_len) == 0);
            break;

        case NGX_HOTLINE_MSG_RESUME:
            hl_check(memcmp(m1.token, m2.token, 16) == 0);
            hl_check(m1.last_seq == m2.last_seq);
            break;

        case NGX_HOTLINE_MSG_ACCEPT:
        case NGX_HOTLINE_MSG_REJECT:
        case NGX_HOTLINE_MSG_BAN:
            hl_check(m1.has_call_id == m2.has_call_id);
            hl_check(!m1.has_call_id
                     || memcmp(m1.call_id, m2.call_id, 16) == 0);
            break;

        default:
            break;
        }

        if (m1.relay) {
            hl_check(m1.out == out1 && m2.out == out2);
            hl_check(m1.out_len == m2.out_len);
            hl_check(memcmp(m1.out, m2.out, m1.out_len) == 0);
        }
    }

    free(out1);
    free(out2);
    free(copy1);
    free(copy2);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *copy;
    ngx_uint_t   role;

    if (size < 1) {
        return 0;
    }

    role = (data[0] & 1) + 1;
    data++;
    size--;

    /* an exact-size copy: reading past the input is an ASan error */

    copy = malloc(size ? size : 1);
    hl_check(copy);
    memcpy(copy, data, size);

    hl_check_scan(copy, size);
    hl_check_parse(copy, size, role);

    free(copy);

    return 0;
}
