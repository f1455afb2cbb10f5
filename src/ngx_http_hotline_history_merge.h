
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_HISTORY_MERGE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_HISTORY_MERGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_store.h"


/*
 * Readers of the history (the node's journal, the Redis history): the
 * amendments of calls' records, merged into them, and the filters of a
 * query (ngx_http_hotline_history_merge.c).
 */


typedef struct {
    json_t                        *calls;     /* call id -> members */
} ngx_http_hotline_amends_t;


void ngx_http_hotline_amends_init(ngx_http_hotline_amends_t *am);
void ngx_http_hotline_amends_free(ngx_http_hotline_amends_t *am);
ngx_int_t ngx_http_hotline_amends_add(ngx_http_hotline_amends_t *am,
    u_char *line, size_t len);
ngx_int_t ngx_http_hotline_history_record(
    ngx_http_hotline_history_query_t *q, ngx_http_hotline_amends_t *am,
    u_char *line, size_t len, ngx_str_t *out);
ngx_int_t ngx_http_hotline_history_member_is(json_t *j, const char *name,
    ngx_str_t *want);
ngx_int_t ngx_http_hotline_history_forget(json_t *j, int64_t expired,
    ngx_uint_t erase);


#endif /* _NGX_HTTP_HOTLINE_HISTORY_MERGE_H_INCLUDED_ */
