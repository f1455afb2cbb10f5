
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"


/*
 * The node's shared zone and the choice of the store backend.  The zone
 * is always there: it holds this node's counters and the workers'
 * mailboxes whichever backend keeps the call state.
 */


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

    if (ngx_http_hotline_shm_init(shpool, zone) != NGX_OK) {
        return NGX_ERROR;
    }

    shpool->log_ctx = ngx_slab_alloc(shpool, sizeof(" in hotline zone \"\"")
                                     + shm_zone->shm.name.len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in hotline zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}


ngx_http_hotline_store_t *
ngx_http_hotline_store(void)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hotline_module);

    if (hmcf && hmcf->redis) {
        return &ngx_http_hotline_store_redis;
    }

    return &ngx_http_hotline_store_shm;
}


void
ngx_http_hotline_count_error(ngx_uint_t code)
{
    if (ngx_http_hotline_zone && code < NGX_HOTLINE_E_MAX) {
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->errors[code], 1);
    }
}


void
ngx_http_hotline_count_close(ngx_uint_t code)
{
    ngx_uint_t  i;

    static ngx_uint_t  codes[] = NGX_HOTLINE_CLOSE_CODES;

    if (ngx_http_hotline_zone == NULL) {
        return;
    }

    for (i = 0; i < NGX_HOTLINE_CLOSE_N; i++) {
        if (codes[i] == code) {
            (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->closes[i], 1);
            return;
        }
    }
}


void
ngx_http_hotline_count_relayed(void)
{
    if (ngx_http_hotline_zone) {
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->relayed, 1);
    }
}


void
ngx_http_hotline_count_ended(ngx_uint_t reason)
{
    if (ngx_http_hotline_zone && reason < NGX_HOTLINE_END_MAX) {
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->ended[reason], 1);
    }
}


void
ngx_http_hotline_count_notify(ngx_uint_t result)
{
    if (ngx_http_hotline_zone && result < 4) {
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->notify[result],
                                    1);
    }
}


void
ngx_http_hotline_count_auth(ngx_uint_t result)
{
    if (ngx_http_hotline_zone && result < 4) {
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->auth[result], 1);
    }
}
