
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


static ngx_int_t ngx_http_hotline_has_token(ngx_str_t *value,
    const char *token, size_t len);


ngx_uint_t
ngx_http_hotline_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    size_t            len;
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    len = ngx_strlen(name);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            if (n++ == 0) {
                *value = h[i].value;
            }
        }
    }

    return n;
}


/*
 * Calls handler for each element of the comma separated lists in all
 * headers called name, trimmed; stops when the handler returns non-zero
 * and returns that.
 */

ngx_int_t
ngx_http_hotline_header_list(ngx_http_request_t *r, const char *name,
    ngx_int_t (*handler)(ngx_str_t *item, void *data), void *data)
{
    u_char           *p, *last, *start, *end;
    size_t            len;
    ngx_int_t         rc;
    ngx_str_t         item;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != len
            || ngx_strncasecmp(h[i].key.data, (u_char *) name, len) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        last = p + h[i].value.len;

        while (p < last) {
            start = p;

            while (p < last && *p != ',') {
                p++;
            }

            end = p++;

            while (start < end && (*start == ' ' || *start == '\t')) {
                start++;
            }

            while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            if (start == end) {
                continue;
            }

            item.data = start;
            item.len = end - start;

            rc = handler(&item, data);
            if (rc != 0) {
                return rc;
            }
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_hotline_is_v1(ngx_str_t *item, void *data)
{
    return item->len == sizeof("hotline.v1") - 1
           && ngx_strncmp(item->data, "hotline.v1", item->len) == 0;
}


static ngx_int_t
ngx_http_hotline_has_token(ngx_str_t *value, const char *token, size_t len)
{
    u_char  *p, *last, *start, *end;

    p = value->data;
    last = p + value->len;

    while (p < last) {
        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        end = p++;

        while (start < end && (*start == ' ' || *start == '\t')) {
            start++;
        }

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if ((size_t) (end - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Returns NGX_OK with accept filled (allocated from r->pool), or the HTTP
 * status to answer with; the caller answers and adds the headers RFC
 * 6455 asks for.
 */

ngx_int_t
ngx_http_hotline_ws_handshake(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_str_t *accept,
    ngx_uint_t *subprotocol)
{
    u_char     digest[SHA_DIGEST_LENGTH], raw[32];
    u_char     buf[64];
    ngx_str_t  value, key, decoded, hash;

    if (r->method != NGX_HTTP_GET) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->http_version < NGX_HTTP_VERSION_11
        || ngx_http_hotline_header(r, "Upgrade", &value) != 1
        || !ngx_http_hotline_has_token(&value, "websocket",
                                       sizeof("websocket") - 1)
        || ngx_http_hotline_header(r, "Connection", &value) == 0
        || !ngx_http_hotline_has_token(&value, "upgrade",
                                       sizeof("upgrade") - 1))
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

    accept->data = ngx_pnalloc(r->pool,
                               ngx_base64_encoded_length(SHA_DIGEST_LENGTH));
    if (accept->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_encode_base64(accept, &hash);

    *subprotocol = ngx_http_hotline_header_list(r, "Sec-WebSocket-Protocol",
                                                ngx_http_hotline_is_v1,
                                                NULL);

    return NGX_OK;
}


ngx_int_t
ngx_http_hotline_json_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t   out;

    /* the request body, if any, is never read */

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    len = sizeof("{\"error\":\"\",\"message\":\"\"}") - 1
          + ngx_strlen(code) + ngx_strlen(message);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* code and message are static text without quotes */

    b->last = ngx_sprintf(b->last, "{\"error\":\"%s\",\"message\":\"%s\"}",
                          code, message);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
