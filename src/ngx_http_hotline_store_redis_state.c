
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_store_redis_state.h"


/* the worker's Redis store: made by ngx_http_hotline_rconn_init() */

ngx_http_hotline_rstore_t  *ngx_http_hotline_rs;
