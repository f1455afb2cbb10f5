
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_guard.h"


/*
 * Response headers of the edge guards: the Content-Security-Policy with
 * its per-request nonce and the fixed security headers.  They are added
 * to a response on its way out (the guard module's header filter), so
 * static files, proxied answers and error pages all get them.
 */


typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  value;
} ngx_http_hotline_header_t;


static ngx_int_t ngx_http_hotline_add_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);


static ngx_http_hotline_header_t  ngx_http_hotline_security[] = {

    { ngx_string("X-Content-Type-Options"), ngx_string("nosniff") },

    { ngx_string("Referrer-Policy"), ngx_string("no-referrer") },

    { ngx_string("X-Frame-Options"), ngx_string("DENY") },

    { ngx_string("Permissions-Policy"),
      ngx_string("camera=(self), microphone=(self), display-capture=(self), "
                 "geolocation=()") },

    { ngx_string("Cross-Origin-Opener-Policy"), ngx_string("same-origin") },

    { ngx_null_string, ngx_null_string }
};


static ngx_str_t  ngx_http_hotline_hsts_name =
    ngx_string("Strict-Transport-Security");

static ngx_str_t  ngx_http_hotline_csp_name =
    ngx_string("Content-Security-Policy");

/* what is sent instead of a policy that turned out unsafe at run time */
static ngx_str_t  ngx_http_hotline_csp_closed =
    ngx_string("default-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'");


/* a fresh nonce: 128 bits of CSPRNG output, base64 */

ngx_int_t
ngx_http_hotline_csp_nonce(ngx_pool_t *pool, ngx_str_t *nonce)
{
    u_char     raw[NGX_HOTLINE_ID_LEN];
    ngx_str_t  src;

    if (ngx_http_hotline_random_id(raw) != NGX_OK) {
        return NGX_ERROR;
    }

    nonce->data = ngx_pnalloc(pool, NGX_HOTLINE_CSP_NONCE_LEN);
    if (nonce->data == NULL) {
        return NGX_ERROR;
    }

    src.len = NGX_HOTLINE_ID_LEN;
    src.data = raw;

    ngx_encode_base64(nonce, &src);

    return NGX_OK;
}


/*
 * A policy is refused when it allows inline script or style without a
 * nonce ('unsafe-inline' anywhere) or could break the header (control
 * characters).
 */

ngx_int_t
ngx_http_hotline_csp_valid(ngx_str_t *policy)
{
    u_char  *p, *last;

    p = policy->data;
    last = p + policy->len;

    for ( /* void */ ; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return NGX_ERROR;
        }
    }

    if (ngx_strlcasestrn(policy->data, last, (u_char *) "unsafe-inline",
                         sizeof("unsafe-inline") - 2)
        != NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_hotline_csp_header(ngx_http_request_t *r,
    ngx_http_complex_value_t *policy)
{
    ngx_str_t  value;

    if (ngx_http_complex_value(r, policy, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 0) {
        return NGX_OK;
    }

    /* variables other than the nonce may bring anything */

    if (policy->lengths && ngx_http_hotline_csp_valid(&value) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hotline: the Content-Security-Policy of this "
                      "request is unsafe or malformed, a closed policy "
                      "is sent instead");
        value = ngx_http_hotline_csp_closed;
    }

    return ngx_http_hotline_add_header(r, &ngx_http_hotline_csp_name, &value);
}


/*
 * The fixed headers replace any of the same name the response already has
 * (an application behind a proxy_pass, for example): the edge's policy is
 * the one that holds.  HSTS goes out on HTTPS only (RFC 6797, 7.2).
 */

ngx_int_t
ngx_http_hotline_security_headers(ngx_http_request_t *r, ngx_str_t *hsts)
{
    ngx_uint_t                  i, ssl;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h;
    ngx_http_hotline_header_t  *s;

    ssl = 0;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl && hsts->len) {
        ssl = 1;
    }
#endif

    part = &r->headers_out.headers.part;
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

        if (h[i].hash == 0) {
            continue;
        }

        for (s = ngx_http_hotline_security; s->name.len; s++) {
            if (h[i].key.len == s->name.len
                && ngx_strncasecmp(h[i].key.data, s->name.data,
                                   s->name.len) == 0)
            {
                h[i].hash = 0;
                break;
            }
        }

        if (ssl
            && h[i].key.len == ngx_http_hotline_hsts_name.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_hotline_hsts_name.data,
                               ngx_http_hotline_hsts_name.len) == 0)
        {
            h[i].hash = 0;
        }
    }

    for (s = ngx_http_hotline_security; s->name.len; s++) {
        if (ngx_http_hotline_add_header(r, &s->name, &s->value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ssl) {
        return ngx_http_hotline_add_header(r, &ngx_http_hotline_hsts_name,
                                           hsts);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;
    h->lowcase_key = NULL;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
