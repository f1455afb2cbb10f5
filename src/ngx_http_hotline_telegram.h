
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_TELEGRAM_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_TELEGRAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* Telegram Bot API requests (sendMessage) and what its answers say */


#define NGX_HOTLINE_TG_TOKEN_MAX     128
#define NGX_HOTLINE_TG_CHAT_MAX      64     /* bytes of a chat id */
#define NGX_HOTLINE_TG_DESC_MAX      128    /* of an error description */


typedef struct {
    ngx_uint_t                 ok;             /* "ok": true */
    ngx_msec_t                 retry_after;    /* parameters.retry_after */
    u_char                     description[NGX_HOTLINE_TG_DESC_MAX];
    size_t                     description_len; /* printable ASCII only */
} ngx_http_hotline_telegram_answer_t;


/* a bot token: digits ':' [A-Za-z0-9_-]; it becomes part of a URL */
ngx_int_t ngx_http_hotline_telegram_token_valid(ngx_str_t *token);

/* a chat id: an optional '-' and digits, or '@' and a channel name */
ngx_int_t ngx_http_hotline_telegram_chat_valid(ngx_str_t *chat_id);

/* <api>/bot<token>/sendMessage, NUL-terminated (holds the token) */
ngx_int_t ngx_http_hotline_telegram_url(ngx_pool_t *pool, ngx_str_t *api,
    ngx_str_t *token, ngx_str_t *url);

/*
 * User text made safe: at most max bytes of src (dst has room for them),
 * cut on a character boundary; each byte of invalid UTF-8 becomes '?',
 * control characters but '\n' become ' '.  Returns the bytes in dst.
 */
size_t ngx_http_hotline_telegram_clean(u_char *dst, u_char *src, size_t len,
    size_t max);

/* the same, then & < > " as entities for HTML mode */
ngx_int_t ngx_http_hotline_telegram_html(ngx_pool_t *pool, ngx_str_t *text,
    size_t max, ngx_str_t *html);

/*
 * The sendMessage JSON body: {"chat_id":..,"text":..,"parse_mode":"HTML",
 * "disable_web_page_preview":true}; html is the message in HTML mode.
 */
ngx_int_t ngx_http_hotline_telegram_body(ngx_pool_t *pool,
    ngx_str_t *chat_id, ngx_str_t *html, ngx_str_t *body);

/* a JSON string literal with its quotes, for any valid UTF-8 */
u_char *ngx_http_hotline_telegram_json_string(u_char *p, ngx_str_t *s);
size_t ngx_http_hotline_telegram_json_len(ngx_str_t *s);

/* parses (at most NGX_HOTLINE_CURL_BODY_MAX bytes of) an answer */
void ngx_http_hotline_telegram_answer(ngx_str_t *body,
    ngx_http_hotline_telegram_answer_t *answer);


#endif /* _NGX_HTTP_HOTLINE_TELEGRAM_H_INCLUDED_ */
