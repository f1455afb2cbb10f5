
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_store.h"


/*
 * Readers of the history (the node's journal, the Redis history): the
 * amendments of calls' records, merged into them, and the filters of a
 * query (ngx_http_hotline_history_merge.c).
 */


#define NGX_HOTLINE_HISTORY_MAX    (1024 * 1024)   /* a line, at most */


/* a journal line that amends a call's record */
#define ngx_http_hotline_is_amend(line, len)                                  \
    ((len) > sizeof("{\"amend\":") - 1                                        \
     && ngx_strncmp(line, "{\"amend\":", sizeof("{\"amend\":") - 1) == 0)


typedef ngx_int_t (*ngx_http_hotline_line_pt)(u_char *line, size_t len,
    off_t offset, void *data);


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

/* the node's journal (ngx_http_hotline_history.c) */
ngx_uint_t ngx_http_hotline_history_kept(void);
ngx_fd_t ngx_http_hotline_history_fd(ngx_log_t *log);
ngx_int_t ngx_http_hotline_history_scan(ngx_fd_t fd, off_t end,
    ngx_log_t *log, ngx_http_hotline_line_pt handler, void *data);
ngx_int_t ngx_http_hotline_history_erase_journal(
    ngx_http_hotline_history_query_t *q);
ngx_int_t ngx_http_hotline_history_rewrite(ngx_fd_t fd, off_t offset,
    u_char *line, size_t len, int64_t expired, ngx_uint_t erase,
    ngx_log_t *log);


#endif /* _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_ */
