
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_zone.h"


ngx_http_hotline_zone_t  *ngx_http_hotline_zone;
ngx_slab_pool_t          *ngx_http_hotline_shpool;


ngx_int_t
ngx_http_hotline_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t          *shpool;
    ngx_http_hotline_zone_t  *zone;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data) {
        /* nginx -s reload: the state lives on */
        shm_zone->data = data;
        ngx_http_hotline_zone = data;
        ngx_http_hotline_shpool = shpool;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_hotline_zone = shpool->data;
        ngx_http_hotline_shpool = shpool;
        return NGX_OK;
    }

    zone = ngx_slab_calloc(shpool, sizeof(ngx_http_hotline_zone_t));
    if (zone == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&zone->mailboxes);

    shpool->data = zone;
    shm_zone->data = zone;

    ngx_http_hotline_zone = zone;
    ngx_http_hotline_shpool = shpool;

    shpool->log_nomem = 0;

    shpool->log_ctx = ngx_slab_alloc(shpool, sizeof(" in hotline zone \"\"")
                                     + shm_zone->shm.name.len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in hotline zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
