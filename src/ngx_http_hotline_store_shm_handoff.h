
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The calls of the embedded store outlive its zone (hotline_handoff_file,
 * ngx_http_hotline_store_shm_handoff.c).  start and exit run with the
 * zone locked.
 */

ngx_int_t ngx_http_hotline_handoff_default(ngx_conf_t *cf, ngx_str_t *name);
ngx_int_t ngx_http_hotline_handoff_open(ngx_conf_t *cf, ngx_str_t *name,
    ngx_fd_t *fd);
void ngx_http_hotline_handoff_upgrade(ngx_cycle_t *cycle);
void ngx_http_hotline_handoff_start(ngx_cycle_t *cycle, ngx_fd_t fd,
    ngx_msec_t max_age, ngx_uint_t made);
void ngx_http_hotline_handoff_exit(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_H_INCLUDED_ */
