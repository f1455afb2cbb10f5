
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_BORROWED_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_BORROWED_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/* nginx connections around sockets another library owns */

ngx_int_t ngx_http_hotline_borrowed_watch(ngx_event_t *ev, ngx_uint_t event,
    ngx_uint_t want);
void ngx_http_hotline_borrowed_release(ngx_connection_t *c,
    ngx_uint_t closed);


#endif /* _NGX_HTTP_HOTLINE_BORROWED_H_INCLUDED_ */
