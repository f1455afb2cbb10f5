
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_PARTY_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_PARTY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"


/* ngx_http_hotline_party.c: the party record */
size_t ngx_http_hotline_party_encode(u_char *p,
    ngx_http_hotline_party_t *party);
ngx_int_t ngx_http_hotline_party_decode(ngx_str_t *value,
    ngx_http_hotline_party_t *party);
ngx_int_t ngx_http_hotline_customer_id(u_char *id, u_char *token);


#endif /* _NGX_HTTP_HOTLINE_PARTY_H_INCLUDED_ */
