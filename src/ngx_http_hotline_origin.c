
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_guard.h"


/*
 * Origin allow-lists: exact, case-insensitive comparison of the whole
 * scheme://host[:port]; never a prefix, suffix or pattern.  Without a
 * list the only allowed origin is the server's own.
 */


static ngx_int_t ngx_http_hotline_origin_valid(ngx_str_t *o);
static ngx_int_t ngx_http_hotline_same_origin(ngx_http_request_t *r,
    ngx_str_t *origin);


ngx_int_t
ngx_http_hotline_origin_allowed(ngx_http_request_t *r, ngx_array_t *origins)
{
    ngx_str_t   *o, origin;
    ngx_uint_t   i, n;

    /* exactly one Origin header */

    n = ngx_http_hotline_header(r, "Origin", &origin);

    if (n != 1 || origin.len == 0) {
        return NGX_DECLINED;
    }

    if (origins == NULL) {
        return ngx_http_hotline_same_origin(r, &origin);
    }

    o = origins->elts;

    for (i = 0; i < origins->nelts; i++) {
        if (o[i].len == origin.len
            && ngx_strncasecmp(o[i].data, origin.data, origin.len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * The origin (CSRF) guard: a request that may change state, that is any
 * method but GET, HEAD, OPTIONS and TRACE (which nginx refuses anyway),
 * must carry exactly one Origin that the list allows.  Browsers send
 * Origin with every such request, cross-site or not, so a missing one
 * means either a page hiding it or a non-browser client, which can send
 * it; requests with a session cookie are the CSRF case this closes.
 */

ngx_int_t
ngx_http_hotline_origin_guard(ngx_http_request_t *r, ngx_array_t *origins)
{
    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS
                     |NGX_HTTP_TRACE))
    {
        return NGX_OK;
    }

    return ngx_http_hotline_origin_allowed(r, origins);
}


static ngx_int_t
ngx_http_hotline_same_origin(ngx_http_request_t *r, ngx_str_t *origin)
{
    size_t      n;
    ngx_str_t  *host;

    if (r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    host = &r->headers_in.host->value;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        n = sizeof("https://") - 1;

        if (origin->len != n + host->len
            || ngx_strncasecmp(origin->data, (u_char *) "https://", n) != 0)
        {
            return NGX_DECLINED;
        }

    } else
#endif
    {
        n = sizeof("http://") - 1;

        if (origin->len != n + host->len
            || ngx_strncasecmp(origin->data, (u_char *) "http://", n) != 0)
        {
            return NGX_DECLINED;
        }
    }

    if (ngx_strncasecmp(origin->data + n, host->data, host->len) != 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* scheme://host[:port], nothing else: no path, no trailing slash */

static ngx_int_t
ngx_http_hotline_origin_valid(ngx_str_t *o)
{
    u_char  *p, *last;

    p = o->data;
    last = p + o->len;

    if (o->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;

    } else if (o->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
    {
        p += 8;

    } else {
        return NGX_ERROR;
    }

    if (p == last) {
        return NGX_ERROR;
    }

    for ( /* void */ ; p < last; p++) {
        if (!(isalnum(*p) || *p == '.' || *p == '-' || *p == ':'
              || *p == '[' || *p == ']'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


char *
ngx_http_hotline_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *o;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_hotline_origin_valid(&value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": expected "
                               "scheme://host[:port] with no path",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        o = ngx_array_push(*a);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        *o = value[i];
    }

    return NGX_CONF_OK;
}
