
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_SHM_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_zone.h"


/* ngx_http_hotline_store_shm_kv.c: keyed values in the node's zone */
ngx_int_t ngx_http_hotline_kv_init(ngx_slab_pool_t *shpool,
    ngx_http_hotline_zone_t *zone);
void ngx_http_hotline_kv_expire(ngx_uint_t max);
void ngx_http_hotline_shm_kv_get(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_uint_t flags, ngx_http_hotline_kv_pt handler,
    void *data);
ngx_atomic_uint_t ngx_http_hotline_shm_kv_notices(void);
void ngx_http_hotline_shm_kv_del(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_attempt(ngx_str_t *secret,
    ngx_str_t *counter, ngx_str_t *lock, ngx_uint_t max, ngx_msec_t ttl,
    ngx_uint_t flags, ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_limit(ngx_str_t *key, ngx_msec_t interval,
    ngx_uint_t burst, ngx_http_hotline_kv_pt handler, void *data);


#endif /* _NGX_HTTP_HOTLINE_STORE_SHM_H_INCLUDED_ */
