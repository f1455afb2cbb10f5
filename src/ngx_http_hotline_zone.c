
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_zone.h"


/*
 * How long a worker spins for the zone's lock before it sleeps on the
 * lock's semaphore: nginx's 2048 is 2047 pauses, tens of microseconds,
 * while the zone's critical sections take about one.  A holder that is
 * not done by then was preempted (more busy processes than cores): the
 * spinning only takes the core it needs.  With 128, two workers relay
 * 9% more per core on this 2-core machine (docs/performance.md, "the
 * zone's lock").
 */
#define NGX_HOTLINE_ZONE_SPIN    128


ngx_http_hotline_zone_t  *ngx_http_hotline_zone;
ngx_slab_pool_t          *ngx_http_hotline_shpool;


ngx_int_t
ngx_http_hotline_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_time_t               *tp;
    ngx_slab_pool_t          *shpool;
    ngx_http_hotline_zone_t  *zone;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* every start, reload and upgrade: the workers read it there */
    shpool->mutex.spin = NGX_HOTLINE_ZONE_SPIN;

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

    /*
     * a reload that changed hotline_zone: the master still runs the cycle
     * before it (a start, or a binary upgrade's new master, has none)
     */
    zone->reloaded = !ngx_is_init_cycle(ngx_cycle);
    zone->replaces = zone->reloaded
                     && ngx_http_hotline_zone_running(shm_zone) != NULL;

    tp = ngx_timeofday();
    zone->made = (int64_t) tp->sec * 1000 + tp->msec;

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


/*
 * In the master, as a reload's configuration is parsed or its zones are
 * made: the running cycle's zone of that name, or NULL.
 */

ngx_shm_zone_t *
ngx_http_hotline_zone_running(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *old;

    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    old = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            old = part->elts;
            i = 0;
        }

        if (old[i].tag == shm_zone->tag
            && old[i].data != NULL
            && old[i].shm.name.len == shm_zone->shm.name.len
            && ngx_strncmp(old[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len)
               == 0)
        {
            return &old[i];
        }
    }
}


/* the zone's size and the bytes of its pages in use; the caller locks */

void
ngx_http_hotline_zone_usage_locked(size_t *size, size_t *used)
{
    *size = ngx_http_hotline_shpool->end
            - (u_char *) ngx_http_hotline_shpool;
    *used = *size - ngx_http_hotline_shpool->pfree * ngx_pagesize;
}


/* 90% of the pages in use: new state may soon be refused */

ngx_uint_t
ngx_http_hotline_zone_nearly_full(size_t size, size_t used)
{
    return size && used / 9 >= size / 10;
}


/*
 * Called now and then by each worker: the node logs once that its zone
 * is nearly full, and once that it is back under 80%.
 */

void
ngx_http_hotline_zone_check(ngx_log_t *log)
{
    size_t  size, used;

    if (ngx_http_hotline_zone == NULL) {
        return;
    }

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    ngx_http_hotline_zone_usage_locked(&size, &used);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (ngx_http_hotline_zone_nearly_full(size, used)) {

        if (ngx_atomic_cmp_set(&ngx_http_hotline_zone->nearly_full, 0, 1)) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "hotline zone is %uz%% used (%uzk of %uzk): when "
                          "it is full new customers are refused; see "
                          "docs/runbook.md#zone-full",
                          used * 100 / size, used / 1024, size / 1024);
        }

        return;
    }

    if (used / 8 < size / 10
        && ngx_atomic_cmp_set(&ngx_http_hotline_zone->nearly_full, 1, 0))
    {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hotline zone is %uz%% used again", used * 100 / size);
    }
}
