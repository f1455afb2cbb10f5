
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_guard.h"


/*
 * ngx_http_hotline_headers_filter_module: the header filter that adds
 * hotline_security_headers after nginx's add_header has run, so that a
 * header the operator sets with add_header is the one sent.  The module
 * is loaded just before ngx_http_headers_filter_module (ngx_module_order
 * in config): filters installed earlier run later.  It has no directives;
 * the guard module's configuration drives it.
 */


static ngx_int_t ngx_http_hotline_headers_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_headers_filter_init(ngx_conf_t *cf);


static ngx_http_module_t  ngx_http_hotline_headers_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_hotline_headers_filter_init,  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_headers_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_headers_filter_module_ctx, /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_int_t
ngx_http_hotline_headers_filter(ngx_http_request_t *r)
{
    ngx_http_hotline_guard_loc_conf_t  *glcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_guard_module);

    if (glcf->security_headers
        && ngx_http_hotline_security_headers(r, &glcf->hsts) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_hotline_headers_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hotline_headers_filter;

    return NGX_OK;
}
