
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_history_merge.h"


/*
 * The node's journal of the history (ngx_http_hotline_history.c), as its
 * readers and rewriters see it.
 */


#define NGX_HOTLINE_HISTORY_MAX    (1024 * 1024)   /* a line, at most */


/* a journal line that amends a call's record */
#define ngx_http_hotline_is_amend(line, len)                                  \
    ((len) > sizeof("{\"amend\":") - 1                                        \
     && ngx_strncmp(line, "{\"amend\":", sizeof("{\"amend\":") - 1) == 0)


typedef ngx_int_t (*ngx_http_hotline_line_pt)(u_char *line, size_t len,
    off_t offset, void *data);


ngx_uint_t ngx_http_hotline_history_kept(void);
ngx_fd_t ngx_http_hotline_history_fd(ngx_log_t *log);
ngx_int_t ngx_http_hotline_history_scan(ngx_fd_t fd, off_t end,
    ngx_log_t *log, ngx_http_hotline_line_pt handler, void *data);
ngx_int_t ngx_http_hotline_history_erase_journal(
    ngx_http_hotline_history_query_t *q);
ngx_int_t ngx_http_hotline_history_erase_ids(ngx_str_t *ids, ngx_uint_t n,
    ngx_log_t *log);
ngx_uint_t ngx_http_hotline_history_journal_on(void);
ngx_str_t *ngx_http_hotline_history_path(void);

typedef ngx_int_t (*ngx_http_hotline_rotated_pt)(ngx_fd_t fd,
    ngx_str_t *path, void *data);

ngx_int_t ngx_http_hotline_history_rotated(ngx_str_t *journal,
    ngx_log_t *log, ngx_http_hotline_rotated_pt handler, void *data,
    ngx_uint_t *compressed);
ngx_int_t ngx_http_hotline_history_rewrite(ngx_fd_t fd, off_t offset,
    u_char *line, size_t len, int64_t expired, ngx_uint_t erase,
    ngx_log_t *log);


#endif /* _NGX_HTTP_HOTLINE_HISTORY_H_INCLUDED_ */
