
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_alloc.h"


u_char *
ngx_http_hotline_scratch(ngx_http_hotline_scratch_t *sc, size_t size)
{
    u_char  *p;

    if (size <= sc->size) {
        return sc->data;
    }

    if (size > NGX_HOTLINE_SCRATCH_KEEP) {
        size = ngx_align(size, ngx_pagesize);

        p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
                 -1, 0);
        if (p == MAP_FAILED) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "mmap(%uz) failed", size);
            return NULL;
        }

    } else {
        p = ngx_alloc(size, ngx_cycle->log);
        if (p == NULL) {
            return NULL;
        }
    }

    ngx_http_hotline_scratch_free(sc);

    sc->data = p;
    sc->size = size;

    return p;
}


void
ngx_http_hotline_scratch_trim(ngx_http_hotline_scratch_t *sc)
{
    if (sc->size > NGX_HOTLINE_SCRATCH_KEEP) {
        ngx_http_hotline_scratch_free(sc);
    }
}


void
ngx_http_hotline_scratch_free(ngx_http_hotline_scratch_t *sc)
{
    if (sc->data == NULL) {
        return;
    }

    if (sc->size > NGX_HOTLINE_SCRATCH_KEEP) {
        if (munmap(sc->data, sc->size) == -1) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "munmap(%uz) failed", sc->size);
        }

    } else {
        ngx_free(sc->data);
    }

    sc->data = NULL;
    sc->size = 0;
}


/* objects of size bytes (at least an ngx_queue_t), max of them kept */

void
ngx_http_hotline_pool_init(ngx_http_hotline_pool_t *p, size_t size,
    ngx_uint_t max)
{
    ngx_queue_init(&p->free);
    p->n = 0;
    p->max = max;
    p->size = ngx_max(size, sizeof(ngx_queue_t));
}


void *
ngx_http_hotline_pool_get(ngx_http_hotline_pool_t *p)
{
    ngx_queue_t  *q;

    if (p->n) {
        q = ngx_queue_head(&p->free);
        ngx_queue_remove(q);
        p->n--;
        return q;
    }

    return ngx_alloc(p->size, ngx_cycle->log);
}


void
ngx_http_hotline_pool_put(ngx_http_hotline_pool_t *p, void *obj)
{
    if (p->n < p->max) {
        ngx_queue_insert_head(&p->free, (ngx_queue_t *) obj);
        p->n++;
        return;
    }

    ngx_free(obj);
}


void
ngx_http_hotline_pool_free(ngx_http_hotline_pool_t *p)
{
    ngx_queue_t  *q;

    while (p->n) {
        q = ngx_queue_head(&p->free);
        ngx_queue_remove(q);
        p->n--;
        ngx_free(q);
    }
}


/*
 * nginx's debug log names a timer by the "fd" of the connection its data
 * points to (ngx_event_ident()): a timer of no connection points to the
 * cycle, as nginx's own shutdown timer does, or every worker crashes once
 * it is added with `error_log ... debug`.
 */

void
ngx_http_hotline_timer_init(ngx_event_t *ev, ngx_event_handler_pt handler,
    ngx_cycle_t *cycle)
{
    ev->handler = handler;
    ev->data = cycle;
    ev->log = cycle->log;
    ev->cancelable = 1;
}
