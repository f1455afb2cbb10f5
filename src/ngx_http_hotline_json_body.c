
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * A small JSON request body for the login endpoints: POST only (405),
 * Content-Type application/json (415), at most NGX_HOTLINE_LOGIN_BODY_MAX
 * bytes (413, refused from Content-Length before anything is read).  The
 * handler gets the body's bytes in one buffer (the JSON is its business,
 * ngx_http_hotline_login_json.c); they are wiped when it returns, since
 * they may hold a code.
 */


static void ngx_http_hotline_json_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_json_type(ngx_http_request_t *r);


ngx_int_t
ngx_http_hotline_read_json(ngx_http_request_t *r,
    ngx_http_hotline_json_pt handler)
{
    ngx_int_t                     rc;
    ngx_http_hotline_auth_ctx_t  *ctx;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_hotline_not_allowed(r, "POST");
    }

    if (ngx_http_hotline_json_type(r) != NGX_OK) {
        return ngx_http_hotline_json_error(r,
                                           NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           "unsupported_media_type",
                                           "the body must be "
                                           "application/json");
    }

    if (r->headers_in.content_length_n > NGX_HOTLINE_LOGIN_BODY_MAX) {
        return ngx_http_hotline_json_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body_too_large",
                                           "the body is larger than 1024 "
                                           "bytes");
    }

    ctx = ngx_http_hotline_auth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->json_handler = handler;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_hotline_json_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_hotline_json_body_read(ngx_http_request_t *r)
{
    size_t                        len, n;
    ngx_buf_t                    *b;
    ngx_int_t                     rc;
    ngx_chain_t                  *cl;
    ngx_http_hotline_auth_ctx_t  *ctx;
    u_char                        buf[NGX_HOTLINE_LOGIN_BODY_MAX];

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    len = 0;
    rc = NGX_OK;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file) {
                /* too big for memory: much more than we take */
                rc = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
                break;
            }

            n = b->last - b->pos;

            if (n > NGX_HOTLINE_LOGIN_BODY_MAX - len) {
                rc = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
                break;
            }

            if (n == 0) {
                continue;
            }

            ngx_memcpy(buf + len, b->pos, n);
            ngx_explicit_memzero(b->pos, n);
            len += n;
        }
    }

    if (rc != NGX_OK) {
        ngx_explicit_memzero(buf, len);
        ngx_http_finalize_request(r,
            ngx_http_hotline_json_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large",
                                        "the body is larger than 1024 "
                                        "bytes"));
        return;
    }

    ctx->json_handler(r, buf, len);

    ngx_explicit_memzero(buf, len);
}


/* application/json, with parameters (charset) or not */

static ngx_int_t
ngx_http_hotline_json_type(ngx_http_request_t *r)
{
    size_t      n;
    ngx_str_t  *type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;
    n = sizeof("application/json") - 1;

    if (type->len < n
        || ngx_strncasecmp(type->data, (u_char *) "application/json", n)
           != 0)
    {
        return NGX_DECLINED;
    }

    if (type->len == n || type->data[n] == ';' || type->data[n] == ' '
        || type->data[n] == '\t')
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}
