
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
 * to a response on its way out (header filters), so static files,
 * proxied answers and error pages all get them.
 */


typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  value;
} ngx_http_hotline_header_t;


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
    u_char  *p, *last, *dash;

    p = policy->data;
    last = p + policy->len;

    for ( /* void */ ; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return NGX_ERROR;
        }
    }

    /*
     * 'unsafe-inline' in any case: it is checked on every response with a
     * variable in its policy, so only where a hyphen can be its 7th byte
     */

    for (p = policy->data + 6; p < last; p = dash + 1) {
        dash = memchr(p, '-', last - p);

        if (dash == NULL || last - dash < 7) {
            break;
        }

        if (ngx_strncasecmp(dash - 6, (u_char *) "unsafe-inline",
                            sizeof("unsafe-inline") - 1)
            == 0)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Whether a policy (valid itself) gives valid values whatever its
 * variables hold, so that they need not be checked on every response:
 * when its only variable is the nonce (base64: no control characters),
 * each time written as 'nonce-$hotline_csp_nonce', between a hyphen and
 * a quote, so that no 'unsafe-inline' can form across it.  Any other
 * variable, or the nonce elsewhere, and every value is checked.
 */

ngx_uint_t
ngx_http_hotline_csp_checked_once(ngx_str_t *policy)
{
    u_char  *p, *last;

    static const u_char  before[] = "'nonce-";
    static const u_char  nonce[] = "$hotline_csp_nonce'";
    static const u_char  braced[] = "${hotline_csp_nonce}'";

    p = policy->data;
    last = p + policy->len;

    while ((p = memchr(p, '$', last - p)) != NULL) {

        if (p - policy->data < (ssize_t) sizeof(before) - 1
            || ngx_strncmp(p - (sizeof(before) - 1), before,
                           sizeof(before) - 1)
               != 0)
        {
            return 0;
        }

        if (last - p >= (ssize_t) sizeof(nonce) - 1
            && ngx_strncmp(p, nonce, sizeof(nonce) - 1) == 0)
        {
            p += sizeof(nonce) - 1;
            continue;
        }

        if (last - p >= (ssize_t) sizeof(braced) - 1
            && ngx_strncmp(p, braced, sizeof(braced) - 1) == 0)
        {
            p += sizeof(braced) - 1;
            continue;
        }

        return 0;
    }

    return 1;
}


ngx_int_t
ngx_http_hotline_csp_header(ngx_http_request_t *r,
    ngx_http_complex_value_t *policy, ngx_uint_t checked)
{
    ngx_str_t  value;

    if (ngx_http_complex_value(r, policy, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 0) {
        return NGX_OK;
    }

    /* variables other than the nonce may bring anything */

    if (policy->lengths && !checked
        && ngx_http_hotline_csp_valid(&value) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hotline: the Content-Security-Policy of this "
                      "request is unsafe or malformed, a closed policy "
                      "is sent instead");
        value = ngx_http_hotline_csp_closed;
    }

    if (ngx_http_hotline_add_header(r,
                                (const char *) ngx_http_hotline_csp_name.data,
                                value.data, value.len)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Which of the fixed headers (or, over TLS with hotline_hsts, HSTS) a
 * response header is: its index, or -1.
 */

static ngx_int_t
ngx_http_hotline_security_index(ngx_table_elt_t *h, ngx_uint_t hsts)
{
    ngx_uint_t                  i;
    ngx_http_hotline_header_t  *s;

    for (i = 0, s = ngx_http_hotline_security; s->name.len; i++, s++) {
        if (h->key.len == s->name.len
            && ngx_strncasecmp(h->key.data, s->name.data, s->name.len) == 0)
        {
            return i;
        }
    }

    if (hsts
        && h->key.len == ngx_http_hotline_hsts_name.len
        && ngx_strncasecmp(h->key.data, ngx_http_hotline_hsts_name.data,
                           ngx_http_hotline_hsts_name.len) == 0)
    {
        return i;
    }

    return -1;
}


/* HSTS goes out on HTTPS only (RFC 6797, 7.2) */

static ngx_uint_t
ngx_http_hotline_hsts_on(ngx_http_request_t *r, ngx_str_t *hsts)
{
#if (NGX_HTTP_SSL)
    if (r->connection->ssl && hsts->len) {
        return 1;
    }
#endif

    return 0;
}


/*
 * Before add_header: the fixed headers the response already has (an
 * application behind a proxy_pass, for example) go, the edge's policy is
 * the one that holds.
 */

void
ngx_http_hotline_security_clear(ngx_http_request_t *r, ngx_str_t *hsts)
{
    ngx_uint_t                     on;
    ngx_table_elt_t               *h;
    ngx_http_hotline_list_iter_t   it;

    on = ngx_http_hotline_hsts_on(r, hsts);

    ngx_http_hotline_list_iter(&it, &r->headers_out.headers);

    while ((h = ngx_http_hotline_list_next(&it)) != NULL) {
        if (h->hash && ngx_http_hotline_security_index(h, on) >= 0) {
            h->hash = 0;
        }
    }
}


/*
 * After add_header: each fixed header the response does not carry.  One
 * it carries now was set by the operator (add_header in the location, or
 * another module's filter) and wins, as in any nginx configuration.
 */

ngx_int_t
ngx_http_hotline_security_headers(ngx_http_request_t *r, ngx_str_t *hsts)
{
    ngx_int_t                      n;
    ngx_uint_t                     i, on, set;
    ngx_table_elt_t               *h;
    ngx_http_hotline_header_t     *s;
    ngx_http_hotline_list_iter_t   it;

    on = ngx_http_hotline_hsts_on(r, hsts);
    set = 0;

    ngx_http_hotline_list_iter(&it, &r->headers_out.headers);

    while ((h = ngx_http_hotline_list_next(&it)) != NULL) {

        if (h->hash == 0) {
            continue;
        }

        n = ngx_http_hotline_security_index(h, on);

        if (n >= 0) {
            set |= 1 << n;
        }
    }

    for (i = 0, s = ngx_http_hotline_security; s->name.len; i++, s++) {
        if ((set & (1 << i)) == 0
            && ngx_http_hotline_add_header(r, (const char *) s->name.data,
                                           s->value.data, s->value.len)
               == NULL)
        {
            return NGX_ERROR;
        }
    }

    if (on
        && (set & (1 << i)) == 0
        && ngx_http_hotline_add_header(r,
                               (const char *) ngx_http_hotline_hsts_name.data,
                               hsts->data, hsts->len)
           == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
