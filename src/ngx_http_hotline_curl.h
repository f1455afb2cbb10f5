
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CURL_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CURL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Outgoing HTTP POSTs of a worker through libcurl's multi interface,
 * driven by the nginx event loop: curl's sockets are watched as nginx
 * connections, curl's timeout is an nginx timer.  No call blocks.
 */


#define NGX_HOTLINE_CURL_BODY_MAX  4096     /* bytes of an answer kept */


typedef struct ngx_http_hotline_curl_s  ngx_http_hotline_curl_t;

typedef struct {
    ngx_int_t                  rc;         /* NGX_OK: an HTTP answer */
    ngx_uint_t                 status;     /* its status code */
    ngx_uint_t                 timed_out;
    const char                *error;      /* transport error, no URL */
    ngx_str_t                  body;       /* its first bytes */
} ngx_http_hotline_curl_result_t;

typedef void (*ngx_http_hotline_curl_pt)(void *data,
    ngx_http_hotline_curl_result_t *res);


ngx_int_t ngx_http_hotline_curl_init(ngx_cycle_t *cycle);
void ngx_http_hotline_curl_done(ngx_cycle_t *cycle);

/*
 * POST body (application/json) to url (NUL-terminated; may hold a secret,
 * never logged).  Both must stay valid until the handler runs or the
 * request is cancelled.  headers: NULL, or more request headers ("Name:
 * value", NUL-terminated, the array ended by NULL), copied here.  The
 * handler is called later from the event loop, never before this
 * returns; NULL: not started (logged).
 */
ngx_http_hotline_curl_t *ngx_http_hotline_curl_post(u_char *url,
    ngx_str_t *body, char **headers, ngx_msec_t timeout,
    ngx_http_hotline_curl_pt handler, void *data);

/* forget a request that is under way: its handler is not called */
void ngx_http_hotline_curl_cancel(ngx_http_hotline_curl_t *req);


#endif /* _NGX_HTTP_HOTLINE_CURL_H_INCLUDED_ */
