
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>

#include "ngx_http_hotline.h"


/*
 * The RFC 6455 opening handshake: checks the request and computes
 * Sec-WebSocket-Accept.  Answers for bad requests are JSON.
 */


#define NGX_HOTLINE_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static ngx_int_t ngx_http_hotline_is_v1(ngx_str_t *item, void *data);
static ngx_int_t ngx_http_hotline_is_token(ngx_str_t *item, void *data);


static ngx_int_t
ngx_http_hotline_is_v1(ngx_str_t *item, void *data)
{
    return item->len == sizeof("hotline.v1") - 1
           && ngx_strncmp(item->data, "hotline.v1", item->len) == 0;
}


/* a token of a comma separated list, case-insensitive */

static ngx_int_t
ngx_http_hotline_is_token(ngx_str_t *item, void *data)
{
    ngx_str_t  *token = data;

    return item->len == token->len
           && ngx_strncasecmp(item->data, token->data, token->len) == 0;
}


/*
 * Returns NGX_OK with the accept value in the request's context of
 * ngx_http_hotline_module (from r->pool), or the HTTP status to answer
 * with; the caller answers and adds the headers RFC 6455 asks for.
 */

ngx_int_t
ngx_http_hotline_ws_handshake(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_uint_t *subprotocol)
{
    u_char                      digest[SHA_DIGEST_LENGTH], raw[32];
    u_char                      buf[64];
    ngx_str_t                   value, key, decoded, hash, accept;
    ngx_http_hotline_ws_ctx_t  *ctx;

    static ngx_str_t  websocket = ngx_string("websocket");
    static ngx_str_t  upgrade = ngx_string("upgrade");

    if (r->method != NGX_HTTP_GET) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    /* HTTP/2 and HTTP/3 have no Upgrade; a subrequest owns no socket */

    if (r->http_version != NGX_HTTP_VERSION_11
        || r != r->main
        || !ngx_http_hotline_header_list(r, "Upgrade",
                                         ngx_http_hotline_is_token,
                                         &websocket)
        || !ngx_http_hotline_header_list(r, "Connection",
                                         ngx_http_hotline_is_token,
                                         &upgrade))
    {
        return 426;
    }

    if (ngx_http_hotline_header(r, "Sec-WebSocket-Version", &value) != 1
        || value.len != 2 || ngx_strncmp(value.data, "13", 2) != 0)
    {
        return 426;
    }

    /* the key: base64 of exactly 16 bytes, i.e. 22 digits and "==" */

    if (ngx_http_hotline_header(r, "Sec-WebSocket-Key", &key) != 1
        || key.len != 24
        || key.data[22] != '=' || key.data[23] != '=')
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    decoded.data = raw;

    if (ngx_decode_base64(&decoded, &key) != NGX_OK || decoded.len != 16) {
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_memcpy(buf, key.data, key.len);
    ngx_memcpy(buf + key.len, NGX_HOTLINE_WS_GUID,
               sizeof(NGX_HOTLINE_WS_GUID) - 1);

    SHA1(buf, key.len + sizeof(NGX_HOTLINE_WS_GUID) - 1, digest);

    hash.data = digest;
    hash.len = SHA_DIGEST_LENGTH;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_ws_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    accept.data = ctx->accept;
    ngx_encode_base64(&accept, &hash);

    ngx_http_set_ctx(r, ctx, ngx_http_hotline_module);

    *subprotocol = ngx_http_hotline_header_list(r, "Sec-WebSocket-Protocol",
                                                ngx_http_hotline_is_v1,
                                                NULL);

    return NGX_OK;
}
