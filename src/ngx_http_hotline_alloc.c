
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_alloc.h"

#if (NGX_HAVE_MALLOC_TRIM)
#include <malloc.h>
#endif


/*
 * A burst of connections leaves free memory inside a worker's heap: the
 * handshakes' request pools (4 KiB each, freed at the upgrade) lay among
 * the blocks of the connections that stayed, and free() gives back only
 * the heap's top.  When NGX_HOTLINE_TRIM_MIN WebSockets or more came or
 * went and then none for NGX_HOTLINE_TRIM_QUIET ms, glibc's malloc_trim()
 * gives the free pages inside the heap back (with a C library that has
 * none, the memory stays for the next burst, as before).
 */

#define NGX_HOTLINE_TRIM_MIN    64
#define NGX_HOTLINE_TRIM_QUIET  500    /* ms */


static void ngx_http_hotline_trim_handler(ngx_event_t *ev);


static ngx_event_t  ngx_http_hotline_trim_ev;
static ngx_uint_t   ngx_http_hotline_trim_n;


u_char *
ngx_http_hotline_scratch(ngx_http_hotline_scratch_t *sc, size_t size)
{
    u_char  *p;

    if (sc->data && size <= sc->size) {
        return sc->data;
    }

    /* a read of nothing still gets a buffer: NULL says "no memory" */
    size = ngx_max(size, 64);

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


void
ngx_http_hotline_trim_init(ngx_cycle_t *cycle)
{
    ngx_http_hotline_timer_init(&ngx_http_hotline_trim_ev,
                                ngx_http_hotline_trim_handler, cycle);
    ngx_http_hotline_trim_n = 0;
}


/* a WebSocket came or went: the trim waits until they stop for a while */

void
ngx_http_hotline_trim_note(void)
{
#if (NGX_HAVE_MALLOC_TRIM)

    if (ngx_http_hotline_trim_ev.handler == NULL || ngx_exiting) {
        return;
    }

    /* (a timer moved by less than NGX_TIMER_LAZY_DELAY stays) */
    ngx_add_timer(&ngx_http_hotline_trim_ev, NGX_HOTLINE_TRIM_QUIET);

    ngx_http_hotline_trim_n++;

#endif
}


void
ngx_http_hotline_trim_exit(void)
{
    if (ngx_http_hotline_trim_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_trim_ev);
    }
}


static void
ngx_http_hotline_trim_handler(ngx_event_t *ev)
{
#if (NGX_HAVE_MALLOC_TRIM)

    int         rc;
    ngx_uint_t  n;

    n = ngx_http_hotline_trim_n;

    if (n < NGX_HOTLINE_TRIM_MIN) {
        return;
    }

    ngx_http_hotline_trim_n = 0;

    rc = malloc_trim(0);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "hotline: heap trim after %ui connections: %d", n, rc);

#endif
}
