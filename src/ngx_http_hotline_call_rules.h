
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_op.h"


/*
 * The rules of the call model (ngx_http_hotline_call_rules.c): what each
 * transition requires of the records it read and what it changes, as a
 * transaction.  An operation (ngx_http_hotline_call.c) reads, asks the
 * rules, and commits.  The support desk's operations are decided by
 * ngx_http_hotline_call_desk_rules.c; the transitions share the pieces of
 * ngx_http_hotline_call_tx.c, ngx_http_hotline_call_end.c and
 * ngx_http_hotline_call_desk.c.
 */


void ngx_http_hotline_rules_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf);

/*
 * fills tx for op from what it read: NGX_HOTLINE_OK, an error for the
 * client, or NGX_HOTLINE_E_AGAIN when the other party must be read too
 */
ngx_uint_t ngx_http_hotline_rules_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);


#endif /* _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_ */
