
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>

#include "ngx_http_hotline_curl.h"
#include "ngx_http_hotline_telegram.h"


/*
 * Requests to the Telegram Bot API (https://core.telegram.org/bots/api):
 * sendMessage with parse_mode "HTML", where user text must have & < > "
 * as entities, and what its answers ({"ok":false,"error_code":429,
 * "parameters":{"retry_after":N}}) say.
 */


#define ngx_http_hotline_isdigit(c)  ((c) >= '0' && (c) <= '9')
#define ngx_http_hotline_isalnum(c)                                           \
    (ngx_http_hotline_isdigit(c) || ((c) >= 'a' && (c) <= 'z')               \
     || ((c) >= 'A' && (c) <= 'Z'))


static size_t ngx_http_hotline_utf8_char(u_char *p, u_char *last);


ngx_int_t
ngx_http_hotline_telegram_token_valid(ngx_str_t *token)
{
    size_t  i, digits;

    if (token->len == 0 || token->len > NGX_HOTLINE_TG_TOKEN_MAX) {
        return NGX_ERROR;
    }

    for (i = 0; i < token->len && token->data[i] >= '0'
                && token->data[i] <= '9'; i++)
    {
        /* void */
    }

    digits = i;

    if (digits == 0 || i == token->len || token->data[i] != ':'
        || i + 1 == token->len)
    {
        return NGX_ERROR;
    }

    for (i++; i < token->len; i++) {
        if (!ngx_http_hotline_isalnum(token->data[i])
            && token->data[i] != '_' && token->data[i] != '-')
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hotline_telegram_chat_valid(ngx_str_t *chat_id)
{
    size_t  i;

    if (chat_id->len == 0 || chat_id->len > NGX_HOTLINE_TG_CHAT_MAX) {
        return NGX_ERROR;
    }

    if (chat_id->data[0] == '@') {
        for (i = 1; i < chat_id->len; i++) {
            if (!ngx_http_hotline_isalnum(chat_id->data[i])
                && chat_id->data[i] != '_')
            {
                return NGX_ERROR;
            }
        }

        return (chat_id->len > 1) ? NGX_OK : NGX_ERROR;
    }

    i = (chat_id->data[0] == '-') ? 1 : 0;

    if (i == chat_id->len) {
        return NGX_ERROR;
    }

    for ( /* void */ ; i < chat_id->len; i++) {
        if (!ngx_http_hotline_isdigit(chat_id->data[i])) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hotline_telegram_url(ngx_pool_t *pool, ngx_str_t *api,
    ngx_str_t *token, ngx_str_t *url)
{
    u_char  *p;

    url->len = api->len + sizeof("/bot") - 1 + token->len
               + sizeof("/sendMessage") - 1;

    url->data = ngx_pnalloc(pool, url->len + 1);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, api->data, api->len);
    p = ngx_cpymem(p, "/bot", sizeof("/bot") - 1);
    p = ngx_cpymem(p, token->data, token->len);
    p = ngx_cpymem(p, "/sendMessage", sizeof("/sendMessage") - 1);
    *p = '\0';

    return NGX_OK;
}


/* bytes of the valid UTF-8 character at p, 0 if there is none */

static size_t
ngx_http_hotline_utf8_char(u_char *p, u_char *last)
{
    size_t    n, i;
    uint32_t  c, min;

    c = *p;

    if (c < 0x80) {
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2; c &= 0x1f; min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3; c &= 0x0f; min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4; c &= 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


size_t
ngx_http_hotline_telegram_clean(u_char *dst, u_char *src, size_t len,
    size_t max)
{
    u_char  *p, *last;
    size_t   n;

    last = src + len;
    p = dst;

    while (src < last) {
        n = ngx_http_hotline_utf8_char(src, last);

        if ((size_t) (p - dst) + (n ? n : 1) > max) {
            break;
        }

        if (n == 0) {
            *p++ = '?';
            src++;
            continue;
        }

        if (n == 1 && ((*src < 0x20 && *src != '\n') || *src == 0x7f)) {
            *p++ = ' ';
            src++;
            continue;
        }

        p = ngx_cpymem(p, src, n);
        src += n;
    }

    return p - dst;
}


ngx_int_t
ngx_http_hotline_telegram_html(ngx_pool_t *pool, ngx_str_t *text,
    size_t max, ngx_str_t *html)
{
    u_char  *clean;
    size_t   n, len;

    clean = ngx_pnalloc(pool, ngx_min(text->len, max) + 1);
    if (clean == NULL) {
        return NGX_ERROR;
    }

    n = ngx_http_hotline_telegram_clean(clean, text->data, text->len, max);
    len = n + ngx_escape_html(NULL, clean, n);

    html->data = ngx_pnalloc(pool, len);
    if (html->data == NULL) {
        return NGX_ERROR;
    }

    html->len = (u_char *) ngx_escape_html(html->data, clean, n)
                - html->data;

    return NGX_OK;
}


size_t
ngx_http_hotline_telegram_json_len(ngx_str_t *s)
{
    return 2 + s->len + ngx_escape_json(NULL, s->data, s->len);
}


u_char *
ngx_http_hotline_telegram_json_string(u_char *p, ngx_str_t *s)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s->data, s->len);
    *p++ = '"';

    return p;
}


ngx_int_t
ngx_http_hotline_telegram_body(ngx_pool_t *pool, ngx_str_t *chat_id,
    ngx_str_t *html, ngx_str_t *body)
{
    u_char  *p;
    size_t   len;

    static u_char  tail[] = ",\"parse_mode\":\"HTML\","
                            "\"disable_web_page_preview\":true}";

    len = sizeof("{\"chat_id\":") - 1
          + ngx_http_hotline_telegram_json_len(chat_id)
          + sizeof(",\"text\":") - 1
          + ngx_http_hotline_telegram_json_len(html)
          + sizeof(tail) - 1;

    body->data = ngx_pnalloc(pool, len);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(body->data, "{\"chat_id\":", sizeof("{\"chat_id\":") - 1);
    p = ngx_http_hotline_telegram_json_string(p, chat_id);
    p = ngx_cpymem(p, ",\"text\":", sizeof(",\"text\":") - 1);
    p = ngx_http_hotline_telegram_json_string(p, html);
    p = ngx_cpymem(p, tail, sizeof(tail) - 1);

    body->len = p - body->data;

    return NGX_OK;
}


void
ngx_http_hotline_telegram_answer(ngx_str_t *body,
    ngx_http_hotline_telegram_answer_t *answer)
{
    size_t        i, n;
    json_t       *root, *v, *params;
    json_int_t    secs;
    const char   *desc;
    json_error_t  err;

    ngx_memzero(answer, sizeof(ngx_http_hotline_telegram_answer_t));

    if (body->len == 0 || body->len > NGX_HOTLINE_CURL_BODY_MAX) {
        return;
    }

    root = json_loadb((const char *) body->data, body->len,
                      JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        return;
    }

    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }

    v = json_object_get(root, "ok");
    answer->ok = json_is_true(v) ? 1 : 0;

    params = json_object_get(root, "parameters");
    v = json_is_object(params) ? json_object_get(params, "retry_after")
                               : NULL;

    if (json_is_integer(v)) {
        secs = json_integer_value(v);

        if (secs > 0) {
            answer->retry_after = (ngx_msec_t) ngx_min(secs, 3600) * 1000;
        }
    }

    v = json_object_get(root, "description");

    if (json_is_string(v)) {
        desc = json_string_value(v);
        n = 0;

        for (i = 0; desc[i] && n < NGX_HOTLINE_TG_DESC_MAX; i++) {
            if (desc[i] >= 0x20 && desc[i] < 0x7f) {
                answer->description[n++] = desc[i];
            }
        }

        answer->description_len = n;
    }

    json_decref(root);
}
