
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_DESK_RULES_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_DESK_RULES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_op.h"


/*
 * The support desk's operations (ngx_http_hotline_call_desk_rules.c),
 * decided as the calls' are (ngx_http_hotline_rules_decide())
 */


ngx_uint_t ngx_http_hotline_decide_presence(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_note(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_rate(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_message(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_hold(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_transfer(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);


#endif /* _NGX_HTTP_HOTLINE_CALL_DESK_RULES_H_INCLUDED_ */
