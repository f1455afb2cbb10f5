
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_proto_desk.h"


/*
 * The support desk's messages are read by the signaling messages'
 * tokenizer (ngx_http_hotline_proto_scan), with names of their own;
 * every string is copied out decoded.
 */


/* the member names of the desk's messages, and bits of them */
#define NGX_HOTLINE_D_TYPE           0
#define NGX_HOTLINE_D_ID             1
#define NGX_HOTLINE_D_STATE          2
#define NGX_HOTLINE_D_ON             3
#define NGX_HOTLINE_D_TO             4
#define NGX_HOTLINE_D_REASON         5
#define NGX_HOTLINE_D_CALL_ID        6
#define NGX_HOTLINE_D_TEXT           7
#define NGX_HOTLINE_D_DISPOSITION    8
#define NGX_HOTLINE_D_TOKEN          9
#define NGX_HOTLINE_D_RATING         10
#define NGX_HOTLINE_D_COMMENT        11
#define NGX_HOTLINE_D_KIND           12
#define NGX_HOTLINE_D_NAME           13
#define NGX_HOTLINE_D_CONTACT        14
#define NGX_HOTLINE_D_MESSAGE_ID     15

#define ngx_hotline_d(k)             (1u << NGX_HOTLINE_D_ ## k)


typedef struct {
    ngx_str_t                      name;
    ngx_uint_t                     type;
    ngx_uint_t                     roles;    /* bit 1: customer, bit 2: agent */
    uint32_t                       members;  /* besides type and id */
} ngx_http_hotline_desk_type_t;


typedef struct {
    ngx_http_hotline_json_obj_t    root;
    ngx_http_hotline_msg_t        *m;
    u_char                        *out;
    u_char                        *last;
} ngx_http_hotline_desk_ctx_t;


static ngx_uint_t ngx_http_hotline_desk_members_of(
    ngx_http_hotline_desk_ctx_t *ctx, ngx_uint_t type,
    ngx_http_hotline_desk_msg_t *d, ngx_array_t *dispositions);
static ngx_uint_t ngx_http_hotline_desk_text(ngx_http_hotline_desk_ctx_t *ctx,
    ngx_uint_t key, size_t min, size_t max, ngx_uint_t multiline,
    ngx_uint_t required, ngx_str_t *dst);
static ngx_uint_t ngx_http_hotline_desk_word(ngx_http_hotline_desk_ctx_t *ctx,
    ngx_uint_t key, const char **words, ngx_uint_t *index);
static ngx_uint_t ngx_http_hotline_desk_bad(ngx_http_hotline_desk_ctx_t *ctx,
    ngx_uint_t key);


static ngx_str_t  ngx_http_hotline_desk_keys[] = {
    ngx_string("type"),
    ngx_string("id"),
    ngx_string("state"),
    ngx_string("on"),
    ngx_string("to"),
    ngx_string("reason"),
    ngx_string("call_id"),
    ngx_string("text"),
    ngx_string("disposition"),
    ngx_string("token"),
    ngx_string("rating"),
    ngx_string("comment"),
    ngx_string("kind"),
    ngx_string("name"),
    ngx_string("contact"),
    ngx_string("message_id"),
    ngx_null_string
};


#define C  1
#define A  2

static ngx_http_hotline_desk_type_t  ngx_http_hotline_desk_types[] = {
    { ngx_string("presence"), NGX_HOTLINE_MSG_PRESENCE, A,
      ngx_hotline_d(STATE) },
    { ngx_string("hold"), NGX_HOTLINE_MSG_HOLD, A,
      ngx_hotline_d(ON) },
    { ngx_string("transfer"), NGX_HOTLINE_MSG_TRANSFER, A,
      ngx_hotline_d(TO) | ngx_hotline_d(REASON) },
    { ngx_string("note"), NGX_HOTLINE_MSG_NOTE, A,
      ngx_hotline_d(CALL_ID) | ngx_hotline_d(TEXT)
      | ngx_hotline_d(DISPOSITION) },
    { ngx_string("rate"), NGX_HOTLINE_MSG_RATE, C,
      ngx_hotline_d(TOKEN) | ngx_hotline_d(RATING) | ngx_hotline_d(COMMENT) },
    { ngx_string("message"), NGX_HOTLINE_MSG_LEAVE, C,
      ngx_hotline_d(KIND) | ngx_hotline_d(NAME) | ngx_hotline_d(CONTACT)
      | ngx_hotline_d(TEXT) },
    { ngx_string("claim"), NGX_HOTLINE_MSG_CLAIM, A,
      ngx_hotline_d(MESSAGE_ID) },
    { ngx_string("done"), NGX_HOTLINE_MSG_DONE, A,
      ngx_hotline_d(MESSAGE_ID) },
    { ngx_null_string, 0, 0, 0 }
};

#undef C
#undef A


ngx_uint_t
ngx_http_hotline_desk_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_array_t *dispositions, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d, u_char *out, size_t size)
{
    u_char                         buf[16];
    size_t                         n;
    ngx_uint_t                     rc;
    ngx_http_hotline_json_val_t   *v;
    ngx_http_hotline_json_obj_t    inner;
    ngx_http_hotline_desk_ctx_t    ctx;
    ngx_http_hotline_desk_type_t  *t;

    /* "on" is no object: one that is, is tabulated and refused */

    if (ngx_http_hotline_proto_scan(data, len, ngx_http_hotline_desk_keys,
                                    NGX_HOTLINE_D_ON, &ctx.root, &inner)
        != NGX_OK)
    {
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    ctx.m = m;
    ctx.out = out;
    ctx.last = out + size;

    v = ngx_http_hotline_json_get(&ctx.root, NGX_HOTLINE_D_TYPE);

    n = 0;

    if (v && v->kind == NGX_HOTLINE_JSON_STRING && v->len <= sizeof(buf)) {
        n = v->len;
        ngx_http_hotline_json_decode(v, buf, n);
    }

    for (t = ngx_http_hotline_desk_types; t->name.len; t++) {
        if (t->name.len == n && ngx_strncmp(t->name.data, buf, n) == 0) {
            break;
        }
    }

    if (t->name.len == 0) {
        /* m is as the signaling parser left it */
        return NGX_HOTLINE_E_BAD_TYPE;
    }

    ngx_memzero(m, sizeof(ngx_http_hotline_msg_t));
    ngx_memzero(d, sizeof(ngx_http_hotline_desk_msg_t));
    d->disposition = -1;

    m->type = t->type;

    rc = ngx_http_hotline_proto_id(&ctx.root, m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    if (!(t->roles & (1 << (role - 1)))) {
        return NGX_HOTLINE_E_NOT_ALLOWED;
    }

    rc = ngx_http_hotline_proto_members(&ctx.root, t->members, m);

    if (rc == NGX_HOTLINE_OK) {
        rc = ngx_http_hotline_desk_members_of(&ctx, t->type, d,
                                              dispositions);
    }

    return rc;
}


static ngx_uint_t
ngx_http_hotline_desk_members_of(ngx_http_hotline_desk_ctx_t *ctx,
    ngx_uint_t type, ngx_http_hotline_desk_msg_t *d,
    ngx_array_t *dispositions)
{
    ngx_str_t                     word, *names;
    ngx_uint_t                    rc, i;
    ngx_http_hotline_json_val_t  *v;

    static const char  *presence[] = { "available", "away", NULL };
    static const char  *kinds[] = { "message", "callback", NULL };

    switch (type) {

    case NGX_HOTLINE_MSG_PRESENCE:
        return ngx_http_hotline_desk_word(ctx, NGX_HOTLINE_D_STATE, presence,
                                          &d->presence);

    case NGX_HOTLINE_MSG_HOLD:
        v = ngx_http_hotline_json_get(&ctx->root, NGX_HOTLINE_D_ON);

        if (v == NULL || (v->kind != NGX_HOTLINE_JSON_TRUE
                          && v->kind != NGX_HOTLINE_JSON_FALSE))
        {
            return ngx_http_hotline_desk_bad(ctx, NGX_HOTLINE_D_ON);
        }

        d->on = (v->kind == NGX_HOTLINE_JSON_TRUE);
        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_MSG_TRANSFER:
        /* an agent's name as its token says it: 1-64 bytes, printable */
        rc = ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_TO, 1, 64, 0, 0,
                                        &d->to);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        return ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_REASON, 0,
                                          NGX_HOTLINE_REASON_CHARS, 0, 0,
                                          &d->reason);

    case NGX_HOTLINE_MSG_NOTE:
        if (ngx_http_hotline_json_get(&ctx->root, NGX_HOTLINE_D_CALL_ID)) {
            rc = ngx_http_hotline_proto_hexid(&ctx->root,
                                              NGX_HOTLINE_D_CALL_ID,
                                              ctx->m->call_id, ctx->m);
            if (rc != NGX_HOTLINE_OK) {
                return rc;
            }

            ctx->m->has_call_id = 1;
        }

        rc = ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_TEXT, 0,
                                        NGX_HOTLINE_NOTE_MAX, 1, 0, &d->text);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_DISPOSITION, 1, 32,
                                        0, 0, &word);
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

        return ngx_http_hotline_desk_bad(ctx, NGX_HOTLINE_D_DISPOSITION);

    case NGX_HOTLINE_MSG_RATE:
        rc = ngx_http_hotline_proto_hexid(&ctx->root, NGX_HOTLINE_D_TOKEN,
                                          ctx->m->token, ctx->m);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        v = ngx_http_hotline_json_get(&ctx->root, NGX_HOTLINE_D_RATING);

        if (v == NULL || v->kind != NGX_HOTLINE_JSON_INTEGER
            || v->integer < 1 || v->integer > 5)
        {
            return ngx_http_hotline_desk_bad(ctx, NGX_HOTLINE_D_RATING);
        }

        d->rating = (ngx_uint_t) v->integer;

        return ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_COMMENT, 0,
                                          NGX_HOTLINE_COMMENT_MAX, 1, 0,
                                          &d->comment);

    case NGX_HOTLINE_MSG_LEAVE:
        rc = ngx_http_hotline_desk_word(ctx, NGX_HOTLINE_D_KIND, kinds,
                                        &d->callback);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_NAME, 1, 64, 0, 1,
                                        &d->name);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        rc = ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_CONTACT, 1,
                                        NGX_HOTLINE_CONTACT_MAX, 0, 1,
                                        &d->contact);
        if (rc != NGX_HOTLINE_OK) {
            return rc;
        }

        /* a callback request may say nothing more */
        return ngx_http_hotline_desk_text(ctx, NGX_HOTLINE_D_TEXT,
                                          d->callback ? 0 : 1,
                                          NGX_HOTLINE_TEXT_MAX, 1, 1,
                                          &d->text);

    default: /* claim, done */
        rc = ngx_http_hotline_proto_hexid(&ctx->root,
                                          NGX_HOTLINE_D_MESSAGE_ID,
                                          ctx->m->call_id, ctx->m);
        if (rc == NGX_HOTLINE_OK) {
            ctx->m->has_call_id = 1;
        }

        return rc;
    }
}


/*
 * A text member of min to max characters of printable text (multiline:
 * \n and \t too), copied into out decoded: dst; an absent one that is
 * not required is empty; with min, not only spaces.
 */

static ngx_uint_t
ngx_http_hotline_desk_text(ngx_http_hotline_desk_ctx_t *ctx, ngx_uint_t key,
    size_t min, size_t max, ngx_uint_t multiline, ngx_uint_t required,
    ngx_str_t *dst)
{
    size_t                        i;
    ngx_uint_t                    rc;
    ngx_http_hotline_json_val_t  *v;

    ngx_str_null(dst);

    if (!required && ngx_http_hotline_json_get(&ctx->root, key) == NULL) {
        return NGX_HOTLINE_OK;
    }

    rc = ngx_http_hotline_proto_text(&ctx->root, key, min, max, multiline,
                                     &v, ctx->m);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    if ((size_t) (ctx->last - ctx->out) < v->len) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    ngx_http_hotline_json_decode(v, ctx->out, v->len);

    for (i = 0; min && i < v->len && (ctx->out[i] == ' '
                                      || ctx->out[i] == '\n'); i++)
    {
        /* void */
    }

    if (min && i == v->len) {
        return ngx_http_hotline_desk_bad(ctx, key);
    }

    dst->data = ctx->out;
    dst->len = v->len;
    ctx->out += v->len;

    return NGX_HOTLINE_OK;
}


/* a string member that is one of words: its index */

static ngx_uint_t
ngx_http_hotline_desk_word(ngx_http_hotline_desk_ctx_t *ctx, ngx_uint_t key,
    const char **words, ngx_uint_t *index)
{
    u_char                        buf[16];
    ngx_uint_t                    i;
    ngx_http_hotline_json_val_t  *v;

    v = ngx_http_hotline_json_get(&ctx->root, key);

    if (v && v->kind == NGX_HOTLINE_JSON_STRING && v->len <= sizeof(buf)) {
        ngx_http_hotline_json_decode(v, buf, v->len);

        for (i = 0; words[i]; i++) {
            if (ngx_strlen(words[i]) == v->len
                && ngx_strncmp(buf, words[i], v->len) == 0)
            {
                *index = i;
                return NGX_HOTLINE_OK;
            }
        }
    }

    return ngx_http_hotline_desk_bad(ctx, key);
}


static ngx_uint_t
ngx_http_hotline_desk_bad(ngx_http_hotline_desk_ctx_t *ctx, ngx_uint_t key)
{
    /* the name is one of ours: it outlives the message */
    ctx->m->field = (const char *) ngx_http_hotline_desk_keys[key].data;

    return NGX_HOTLINE_E_BAD_FIELD;
}
