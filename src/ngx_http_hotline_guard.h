
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_GUARD_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_GUARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* edge guards: response headers and the origin (CSRF) guard */


#define NGX_HOTLINE_CSP_NONCE_LEN   24      /* base64 of 16 bytes */

/* a client key: "2001:db8:1:2::/64", or an IPv4 or unix address */
#define NGX_HOTLINE_CLIENT_KEY      NGX_SOCKADDR_STRLEN


typedef struct {
    ngx_int_t                   nonce_index;
    ngx_uint_t                  ipv6_prefix;   /* bits */
} ngx_http_hotline_guard_main_conf_t;


typedef struct {
    ngx_http_complex_value_t   *csp;           /* NULL: no policy */
    ngx_uint_t                  csp_checked;   /* no need to check each
                                                  value (csp_checked_once) */
    ngx_flag_t                  security_headers;
    ngx_str_t                   hsts;          /* data NULL: unset */
    ngx_flag_t                  origin_guard;
} ngx_http_hotline_guard_loc_conf_t;


extern ngx_module_t  ngx_http_hotline_guard_module;


/* ngx_http_hotline_headers.c */
ngx_int_t ngx_http_hotline_csp_nonce(ngx_pool_t *pool, ngx_str_t *nonce);
ngx_int_t ngx_http_hotline_csp_valid(ngx_str_t *policy);
ngx_uint_t ngx_http_hotline_csp_checked_once(ngx_str_t *policy);
ngx_int_t ngx_http_hotline_csp_header(ngx_http_request_t *r,
    ngx_http_complex_value_t *policy, ngx_uint_t checked);
void ngx_http_hotline_security_clear(ngx_http_request_t *r,
    ngx_str_t *hsts);
ngx_int_t ngx_http_hotline_security_headers(ngx_http_request_t *r,
    ngx_str_t *hsts);

/* ngx_http_hotline_client.c */
size_t ngx_http_hotline_client_key(ngx_http_request_t *r, u_char *buf);
ngx_int_t ngx_http_hotline_client_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* ngx_http_hotline_origin.c */
ngx_int_t ngx_http_hotline_origin_guard(ngx_http_request_t *r,
    ngx_array_t *origins);


#endif /* _NGX_HTTP_HOTLINE_GUARD_H_INCLUDED_ */
