
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_RESP_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_RESP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* arrays in arrays: hiredis 0.14 reads no deeper */
#define NGX_HOTLINE_RESP_DEPTH       7

/* the type of a nil, in ngx_http_hotline_resp_reply_t (RESP3's) */
#define NGX_HOTLINE_RESP_NIL         '_'

/* the longest reply taken: a string or an array that says it is longer
 * is refused before its bytes come */
#define NGX_HOTLINE_RESP_MAX         (128 * 1024 * 1024)

/* a reply's length line, or a status, an error, an integer */
#define NGX_HOTLINE_RESP_LINE_MAX    65536


/*
 * One whole reply, as ngx_http_hotline_resp_next() found it: its type
 * ('+', '-', ':', '$', '*', or NGX_HOTLINE_RESP_NIL), an array's element
 * count,
 * the types of its first three elements (0: none), and its first element's
 * bytes if that is a bulk string.
 */

typedef struct {
    u_char                     type;
    u_char                     first[3];
    ngx_int_t                  elements;
    u_char                    *str;
    size_t                     len;
} ngx_http_hotline_resp_reply_t;


ngx_int_t ngx_http_hotline_resp_next(u_char *p, u_char *last,
    ngx_http_hotline_resp_reply_t *reply, size_t *used);
ngx_uint_t ngx_http_hotline_resp_pushed(ngx_http_hotline_resp_reply_t *r);


#endif /* _NGX_HTTP_HOTLINE_RESP_H_INCLUDED_ */
