
/*
 * Copyright (C) hotline authors
 */


/*
 * The support desk's message parser as it was on jansson alone: the
 * oracle of fuzz_proto_diff for the tokenizer's
 * (src/ngx_http_hotline_proto_desk_parse.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "proto_jansson.h"


typedef struct {
    ngx_str_t         name;
    ngx_uint_t        type;
    ngx_uint_t        roles;             /* bit 1: customer, bit 2: agent */
    const char       *members[5];
} hl_ref_desk_type_t;


typedef struct {
    json_t                        *root;
    ngx_http_hotline_msg_t        *m;
    u_char                        *out;
    u_char                        *last;
} hl_ref_desk_ctx_t;


static ngx_uint_t hl_ref_desk_members(
    hl_ref_desk_ctx_t *ctx, const char **allowed);
static ngx_uint_t hl_ref_desk_members_of(
    hl_ref_desk_ctx_t *ctx, ngx_uint_t type,
    ngx_http_hotline_desk_msg_t *d, ngx_array_t *dispositions);
static ngx_uint_t hl_ref_desk_text(hl_ref_desk_ctx_t *ctx,
    const char *key, size_t min, size_t max, ngx_uint_t multiline,
    ngx_uint_t required, ngx_str_t *dst);
static ngx_uint_t hl_ref_desk_word(hl_ref_desk_ctx_t *ctx,
    const char *key, const char **words, ngx_uint_t *index);
static ngx_uint_t hl_ref_desk_hexid(
    hl_ref_desk_ctx_t *ctx, const char *key, u_char *dst);
static ngx_uint_t hl_ref_desk_bad(hl_ref_desk_ctx_t *ctx,
    const char *key);


#define C  1
#define A  2

static hl_ref_desk_type_t  hl_ref_desk_types[] = {
    { ngx_string("presence"), NGX_HOTLINE_MSG_PRESENCE, A,
      { "state", NULL } },
    { ngx_string("hold"), NGX_HOTLINE_MSG_HOLD, A,
      { "on", NULL } },
    { ngx_string("transfer"), NGX_HOTLINE_MSG_TRANSFER, A,
      { "to", "reason", NULL } },
    { ngx_string("note"), NGX_HOTLINE_MSG_NOTE, A,
      { "call_id", "text", "disposition", NULL } },
    { ngx_string("rate"), NGX_HOTLINE_MSG_RATE, C,
      { "token", "rating", "comment", NULL } },
    { ngx_string("message"), NGX_HOTLINE_MSG_LEAVE, C,
      { "kind", "name", "contact", "text" } },
    { ngx_string("claim"), NGX_HOTLINE_MSG_CLAIM, A,
      { "message_id", NULL } },
    { ngx_string("done"), NGX_HOTLINE_MSG_DONE, A,
      { "message_id", NULL } },
    { ngx_null_string, 0, 0, { NULL } }
};

#undef C
#undef A


ngx_uint_t
hl_ref_desk_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_array_t *dispositions, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d, u_char *out, size_t size)
{
    size_t                         n, i;
    json_t                        *v;
    ngx_uint_t                     rc;
    const char                    *s;
    json_error_t                   err;
    hl_ref_desk_ctx_t    ctx;
    hl_ref_desk_type_t  *t;

    ctx.root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES,
                          &err);
    if (ctx.root == NULL || !json_is_object(ctx.root)) {
        json_decref(ctx.root);
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    ctx.m = m;
    ctx.out = out;
    ctx.last = out + size;

    v = json_object_get(ctx.root, "type");
    s = json_is_string(v) ? json_string_value(v) : "";
    n = json_is_string(v) ? json_string_length(v) : 0;

    for (t = hl_ref_desk_types; t->name.len; t++) {
        if (t->name.len == n && ngx_strncmp(t->name.data, s, n) == 0) {
            break;
        }
    }

    if (t->name.len == 0) {
        /* m is as the signaling parser left it */
        json_decref(ctx.root);
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    ngx_memzero(m, sizeof(ngx_http_hotline_msg_t));
    ngx_memzero(d, sizeof(ngx_http_hotline_desk_msg_t));
    d->disposition = -1;

    m->type = t->type;

    /* the id (its syntax is the signaling parser's, checked there) */

    v = json_object_get(ctx.root, "id");

    if (v) {
        s = json_is_string(v) ? json_string_value(v) : NULL;
        n = s ? json_string_length(v) : 0;

        if (n == 0 || n > NGX_HOTLINE_MSG_ID_MAX) {
            rc = hl_ref_desk_bad(&ctx, "id");
            goto done;
        }

        for (i = 0; i < n; i++) {
            if (!(isalnum((u_char) s[i]) || s[i] == '_' || s[i] == '.'
                  || s[i] == ':' || s[i] == '-'))
            {
                rc = hl_ref_desk_bad(&ctx, "id");
                goto done;
            }
        }

        ngx_memcpy(m->id, s, n);
        m->id_len = n;
    }

    if (!(t->roles & (1 << (role - 1)))) {
        rc = NGX_HOTLINE_E_NOT_ALLOWED;
        goto done;
    }

    rc = hl_ref_desk_members(&ctx, t->members);

    if (rc == NGX_HOTLINE_OK) {
        rc = hl_ref_desk_members_of(&ctx, t->type, d,
                                              dispositions);
    }

done:

    json_decref(ctx.root);

    return rc;
}


static ngx_uint_t
hl_ref_desk_members_of(hl_ref_desk_ctx_t *ctx,
    ngx_uint_t type, ngx_http_hotline_desk_msg_t *d,
    ngx_array_t *dispositions)
{
    json_t      *v;
    ngx_str_t    word, *names;
    ngx_uint_t   rc, i;

    static const char  *presence[] = { "available", "away", NULL };
    static const char  *kinds[] = { "message", "callback", NULL };

    switch (type) {

    case NGX_HOTLINE_MSG_PRESENCE:
        return hl_ref_desk_word(ctx, "state", presence,
                                          &d->presence);

    case NGX_HOTLINE_MSG_HOLD:
        v = json_object_get(ctx->root, "on");

        if (!json_is_boolean(v)) {
            return hl_ref_desk_bad(ctx, "on");
        }

        d->on = json_is_true(v);
        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_MSG_TRANSFER:
        /* an agent's name as its token says it: 1-64 bytes, printable */
        rc = hl_ref_desk_text(ctx, "to", 1, 64, 0, 0, &d->to);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        return hl_ref_desk_text(ctx, "reason", 0,
                                          NGX_HOTLINE_REASON_CHARS, 0, 0,
                                          &d->reason);

    case NGX_HOTLINE_MSG_NOTE:
        if (json_object_get(ctx->root, "call_id")) {
            rc = hl_ref_desk_hexid(ctx, "call_id",
                                             ctx->m->call_id);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }
        }

        rc = hl_ref_desk_text(ctx, "text", 0, NGX_HOTLINE_NOTE_MAX,
                                        1, 0, &d->text);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = hl_ref_desk_text(ctx, "disposition", 1, 32, 0, 0,
                                        &word);
        if (rc != NGX_HOTLINE_OK || word.len == 0) {
            return rc;
        }

        names = dispositions->elts;

        for (i = 0; i < dispositions->nelts; i++) {
            if (names[i].len == word.len
                && ngx_strncmp(names[i].data, word.data, word.len) == 0)
            {
                d->disposition = i;
                return NGX_HOTLINE_OK;
            }
        }

        return hl_ref_desk_bad(ctx, "disposition");

    case NGX_HOTLINE_MSG_RATE:
        rc = hl_ref_desk_hexid(ctx, "token", ctx->m->token);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        v = json_object_get(ctx->root, "rating");

        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > 5)
        {
            return hl_ref_desk_bad(ctx, "rating");
        }

        d->rating = (ngx_uint_t) json_integer_value(v);

        return hl_ref_desk_text(ctx, "comment", 0,
                                          NGX_HOTLINE_COMMENT_MAX, 1, 0,
                                          &d->comment);

    case NGX_HOTLINE_MSG_LEAVE:
        rc = hl_ref_desk_word(ctx, "kind", kinds, &d->callback);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = hl_ref_desk_text(ctx, "name", 1, 64, 0, 1, &d->name);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = hl_ref_desk_text(ctx, "contact", 1,
                                        NGX_HOTLINE_CONTACT_MAX, 0, 1,
                                        &d->contact);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        /* a callback request may say nothing more */
        return hl_ref_desk_text(ctx, "text", d->callback ? 0 : 1,
                                          NGX_HOTLINE_TEXT_MAX, 1, 1,
                                          &d->text);

    default: /* claim, done */
        return hl_ref_desk_hexid(ctx, "message_id",
                                           ctx->m->call_id);
    }
}


/* every member but type and id is one of allowed */

static ngx_uint_t
hl_ref_desk_members(hl_ref_desk_ctx_t *ctx,
    const char **allowed)
{
    void         *it;
    size_t        n, i;
    const char   *key, **a;

    for (it = json_object_iter(ctx->root);
         it;
         it = json_object_iter_next(ctx->root, it))
    {
        key = json_object_iter_key(it);

        if (ngx_strcmp(key, "type") == 0 || ngx_strcmp(key, "id") == 0) {
            continue;
        }

        for (a = allowed; *a && ngx_strcmp(key, *a) != 0; a++) {
            /* void */
        }

        if (*a) {
            continue;
        }

        /* named in the error only when it is plainly printable */

        n = ngx_min(ngx_strlen(key), NGX_HOTLINE_FIELD_MAX);

        for (i = 0; i < n; i++) {
            ctx->m->field_buf[i] = (key[i] > 0x20 && key[i] < 0x7f
                                    && key[i] != '"' && key[i] != '\\')
                                   ? key[i] : '?';
        }

        ctx->m->field_buf[n] = '\0';
        ctx->m->field = (const char *) ctx->m->field_buf;

        return NGX_HOTLINE_E_BAD_FIELD;
    }

    return NGX_HOTLINE_OK;
}


/*
 * A text member of min to max characters (UTF-8 code points; jansson
 * checked the encoding) without control characters (multiline: but \n
 * and \t), copied into out: dst; an absent one that is not required is
 * empty.
 */

static ngx_uint_t
hl_ref_desk_text(hl_ref_desk_ctx_t *ctx, const char *key,
    size_t min, size_t max, ngx_uint_t multiline, ngx_uint_t required,
    ngx_str_t *dst)
{
    u_char  *s, c;
    size_t   n, i, chars;
    json_t  *v;

    ngx_str_null(dst);

    v = json_object_get(ctx->root, key);

    if (v == NULL && !required) {
        return NGX_HOTLINE_OK;
    }

    if (!json_is_string(v)) {
        return hl_ref_desk_bad(ctx, key);
    }

    s = (u_char *) json_string_value(v);
    n = json_string_length(v);
    chars = 0;

    for (i = 0; i < n; i++) {
        c = s[i];

        if ((c & 0xc0) != 0x80) {
            chars++;
        }

        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t')))
            || c == 0x7f
            || (c == 0xc2 && i + 1 < n && s[i + 1] < 0xa0)
            || (c == 0xe2 && i + 2 < n && s[i + 1] == 0x80
                && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)))
        {
            return hl_ref_desk_bad(ctx, key);
        }
    }

    if (chars < min || chars > max) {
        return hl_ref_desk_bad(ctx, key);
    }

    /* not only spaces, when something is required */

    for (i = 0; i < n && min && (s[i] == ' ' || s[i] == '\n'); i++) {
        /* void */
    }

    if (min && i == n) {
        return hl_ref_desk_bad(ctx, key);
    }

    if ((size_t) (ctx->last - ctx->out) < n) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    dst->data = ctx->out;
    dst->len = n;
    ctx->out = ngx_cpymem(ctx->out, s, n);

    return NGX_HOTLINE_OK;
}


/* a string member that is one of words: its index */

static ngx_uint_t
hl_ref_desk_word(hl_ref_desk_ctx_t *ctx, const char *key,
    const char **words, ngx_uint_t *index)
{
    json_t      *v;
    ngx_uint_t   i;

    v = json_object_get(ctx->root, key);

    if (json_is_string(v)) {
        for (i = 0; words[i]; i++) {
            if (ngx_strcmp(json_string_value(v), words[i]) == 0) {
                *index = i;
                return NGX_HOTLINE_OK;
            }
        }
    }

    return hl_ref_desk_bad(ctx, key);
}


/* an id of 32 lowercase hex digits, into dst (16 bytes) */

static ngx_uint_t
hl_ref_desk_hexid(hl_ref_desk_ctx_t *ctx,
    const char *key, u_char *dst)
{
    ngx_uint_t  rc;

    /* the signaling oracle's: the same rule, the same error */

    rc = hl_ref_get_hexid(ctx->root, key, dst, ctx->m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    ctx->m->has_call_id = (dst == ctx->m->call_id);

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
hl_ref_desk_bad(hl_ref_desk_ctx_t *ctx, const char *key)
{
    /* key is one of ours (a literal): it outlives the JSON */
    ctx->m->field = key;

    return NGX_HOTLINE_E_BAD_FIELD;
}
