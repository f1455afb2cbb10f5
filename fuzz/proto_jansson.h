
/*
 * Copyright (C) hotline authors
 */


#ifndef _PROTO_JANSSON_H_INCLUDED_
#define _PROTO_JANSSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_proto_desk.h"


/* ngx_http_hotline_proto_parse() as it was on jansson alone */
ngx_uint_t hl_ref_proto_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_http_hotline_msg_t *m, u_char *out, size_t size);

/* an id of 32 lowercase hex digits, key of root, into dst (bad_field) */
ngx_uint_t hl_ref_get_hexid(json_t *root, const char *key, u_char *dst,
    ngx_http_hotline_msg_t *m);

/* ngx_http_hotline_desk_parse() as it was on jansson alone
 * (proto_desk_jansson.c) */
ngx_uint_t hl_ref_desk_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_array_t *dispositions, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d, u_char *out, size_t size);


#endif /* _PROTO_JANSSON_H_INCLUDED_ */
