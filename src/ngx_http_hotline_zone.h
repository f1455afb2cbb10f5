
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_ZONE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_metrics.h"


/*
 * The node's shared zone (hotline_zone): always there, whichever backend
 * keeps the call state.  It holds this node's counters, the workers'
 * mailboxes (ngx_http_hotline_doorbell.c), and the embedded backend's
 * state and keyed values, which that backend makes on first use.
 */

typedef struct {
    ngx_http_hotline_counters_t    counters;
    ngx_queue_t                    mailboxes;
    void                          *backend;
    void                          *kv;
    ngx_atomic_t                   nearly_full;    /* logged once */
    ngx_uint_t                     reloaded;       /* made by a reload */
    ngx_uint_t                     replaces;       /* a reload's, in place
                                                      of a running zone of
                                                      another size */
    int64_t                        made;           /* ms since the epoch */
} ngx_http_hotline_zone_t;


extern ngx_http_hotline_zone_t  *ngx_http_hotline_zone;
extern ngx_slab_pool_t          *ngx_http_hotline_shpool;


ngx_int_t ngx_http_hotline_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_shm_zone_t *ngx_http_hotline_zone_running(ngx_shm_zone_t *shm_zone);
void ngx_http_hotline_zone_usage_locked(size_t *size, size_t *used);
ngx_uint_t ngx_http_hotline_zone_nearly_full(size_t size, size_t used);
void ngx_http_hotline_zone_check(ngx_log_t *log);


#endif /* _NGX_HTTP_HOTLINE_ZONE_H_INCLUDED_ */
