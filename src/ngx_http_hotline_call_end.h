
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_END_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_END_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_op.h"


/*
 * A call ends, a party goes (ngx_http_hotline_call_end.c): the parts of
 * the transitions that do so.
 */


void ngx_http_hotline_end_init(ngx_http_hotline_main_conf_t *cf);

/* ends the call of customer c, with its agent a */
void ngx_http_hotline_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a, ngx_uint_t reason, ngx_uint_t by,
    ngx_http_hotline_party_t *who);

/* frees party p: its record, index and inbox */
void ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);


#endif /* _NGX_HTTP_HOTLINE_CALL_END_H_INCLUDED_ */
