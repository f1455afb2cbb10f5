
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_WEBHOOK_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_WEBHOOK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_call_op.h"


/* the events (hotline_webhook) of an operation that committed */
void ngx_http_hotline_call_webhooks(ngx_http_hotline_op_t *op);


#endif /* _NGX_HTTP_HOTLINE_CALL_WEBHOOK_H_INCLUDED_ */
