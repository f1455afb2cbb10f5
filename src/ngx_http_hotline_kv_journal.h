
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_KV_JOURNAL_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_KV_JOURNAL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The journal of the embedded store's durable keyed values
 * (ngx_http_hotline_kv_journal.c): hotline_state_file.
 */

typedef struct {
    ngx_str_t                      key;
    ngx_str_t                      value;
    int64_t                        expires;     /* ms since the epoch */
    ngx_uint_t                     seq;         /* its line */
} ngx_http_hotline_kv_entry_t;


typedef struct {
    ngx_open_file_t               *file;        /* appended to */
    ngx_array_t                   *entries;     /* live when it was read */
} ngx_http_hotline_kv_journal_t;


ngx_http_hotline_kv_journal_t *ngx_http_hotline_kv_journal_open(
    ngx_conf_t *cf, ngx_str_t *name);
ngx_http_hotline_kv_journal_t *ngx_http_hotline_kv_journal(void);
void ngx_http_hotline_kv_journal_write(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl);


#endif /* _NGX_HTTP_HOTLINE_KV_JOURNAL_H_INCLUDED_ */
