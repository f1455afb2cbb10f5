
/*
 * Copyright (C) hotline authors
 */


#ifndef _PROTO_JANSSON_H_INCLUDED_
#define _PROTO_JANSSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_proto.h"


/* ngx_http_hotline_proto_parse() as it was on jansson alone */
ngx_uint_t hl_ref_proto_parse(u_char *data, size_t len, ngx_uint_t role,
    ngx_http_hotline_msg_t *m, u_char *out, size_t size);


#endif /* _PROTO_JANSSON_H_INCLUDED_ */
