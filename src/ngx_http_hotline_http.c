
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"


/*
 * HTTP helpers shared by the locations of all hotline modules: request
 * header lookups that work the same on every nginx version, and JSON
 * answers (errors, a store that failed, too many requests).
 */


ngx_uint_t
ngx_http_hotline_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    size_t                         len;
    ngx_uint_t                     n;
    ngx_table_elt_t               *h;
    ngx_http_hotline_list_iter_t   it;

    n = 0;
    len = ngx_strlen(name);

    ngx_http_hotline_list_iter(&it, &r->headers_in.headers);

    while ((h = ngx_http_hotline_list_next(&it)) != NULL) {

        if (h->key.len == len
            && ngx_strncasecmp(h->key.data, (u_char *) name, len) == 0)
        {
            if (n++ == 0) {
                *value = h->value;
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
    u_char                        *p, *last, *start, *end;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_str_t                      item;
    ngx_table_elt_t               *h;
    ngx_http_hotline_list_iter_t   it;

    len = ngx_strlen(name);

    ngx_http_hotline_list_iter(&it, &r->headers_in.headers);

    while ((h = ngx_http_hotline_list_next(&it)) != NULL) {

        if (h->key.len != len
            || ngx_strncasecmp(h->key.data, (u_char *) name, len) != 0)
        {
            continue;
        }

        p = h->value.data;
        last = p + h->value.len;

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


ngx_int_t
ngx_http_hotline_json_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    len = sizeof("{\"error\":\"\",\"message\":\"\"}") - 1
          + ngx_strlen(code) + ngx_strlen(message);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* code and message are static text without quotes */

    b->last = ngx_sprintf(b->last, "{\"error\":\"%s\",\"message\":\"%s\"}",
                          code, message);

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, status, "application/json", &out);
}


/*
 * Sends a whole response from memory: status, type, the chain (its length
 * is counted here), the request body discarded.  For the handlers'
 * own answers: JSON, metrics.
 */

ngx_int_t
ngx_http_hotline_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    len = 0;

    for (cl = out; /* void */; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;

        if (cl->next == NULL) {
            break;
        }
    }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/*
 * Adds a response header; every header the modules add goes through here.
 * name is static text, value lives as long as the request.  Since 1.23.0
 * nginx links the headers of one name with h->next (and reads it for
 * Cache-Control, Link, Set-Cookie and others): an added header is the
 * only one of its chain.
 */

ngx_table_elt_t *
ngx_http_hotline_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;
    h->lowcase_key = NULL;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/*
 * 405 for a location that takes only the methods in allow ("GET, HEAD",
 * "POST"): the Allow header RFC 9110 asks for, and a JSON body
 */

ngx_int_t
ngx_http_hotline_not_allowed(ngx_http_request_t *r, const char *allow)
{
    return ngx_http_hotline_not_allowed_text(r, allow,
                                             allow[0] == 'P' ? "use POST"
                                                             : "use GET");
}


/* the same, with the body's message given */

ngx_int_t
ngx_http_hotline_not_allowed_text(ngx_http_request_t *r, const char *allow,
    const char *message)
{
    if (ngx_http_hotline_add_header(r, "Allow", (u_char *) allow,
                                    ngx_strlen(allow))
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_json_error(r, NGX_HTTP_NOT_ALLOWED,
                                       "method_not_allowed", message);
}


/*
 * The elements of an nginx list, part after part (nginx writes this loop
 * out at each use):
 *
 *     ngx_http_hotline_list_iter(&it, &r->headers_in.headers);
 *     while ((h = ngx_http_hotline_list_next(&it)) != NULL) { ... }
 */

void
ngx_http_hotline_list_iter(ngx_http_hotline_list_iter_t *it, ngx_list_t *list)
{
    it->part = &list->part;
    it->size = list->size;
    it->i = 0;
}


void *
ngx_http_hotline_list_next(ngx_http_hotline_list_iter_t *it)
{
    while (it->i >= it->part->nelts) {
        if (it->part->next == NULL) {
            return NULL;
        }

        it->part = it->part->next;
        it->i = 0;
    }

    return (u_char *) it->part->elts + it->size * it->i++;
}


/* Cache-Control: no-store, for answers that carry credentials */

ngx_int_t
ngx_http_hotline_no_store(ngx_http_request_t *r)
{
    if (ngx_http_hotline_add_header(r, "Cache-Control", (u_char *) "no-store",
                                    sizeof("no-store") - 1)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a store that cannot answer: 503, anything else it says: 500 */

ngx_int_t
ngx_http_hotline_store_error(ngx_http_request_t *r, ngx_uint_t err)
{
    if (err == NGX_HOTLINE_E_UNAVAILABLE) {
        return ngx_http_hotline_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "unavailable",
                                           "the service is temporarily "
                                           "unavailable");
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hotline: the store failed (error %ui)", err);

    return ngx_http_hotline_json_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                       "internal", "internal error");
}


/* 429 with Retry-After in whole seconds, rounded up */

ngx_int_t
ngx_http_hotline_too_many(ngx_http_request_t *r, ngx_msec_t retry_after,
    const char *code, const char *message)
{
    u_char      *p;
    ngx_uint_t   sec;

    sec = (retry_after + 999) / 1000;

    if (sec == 0) {
        sec = 1;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hotline_add_header(r, "Retry-After", p,
                                    ngx_sprintf(p, "%ui", sec) - p)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_json_error(r, NGX_HTTP_TOO_MANY_REQUESTS, code,
                                       message);
}


/* a JSON body from memory (static or the request's pool) */

ngx_int_t
ngx_http_hotline_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, status, "application/json", &out);
}
