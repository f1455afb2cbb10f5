
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_ALLOC_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_ALLOC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Worker-local memory that per-message work reuses instead of allocating
 * (ngx_http_hotline_alloc.c): a buffer that only grows, for work that
 * never nests, and a bounded list of free objects of one size.
 */


typedef struct {
    u_char                        *data;
    size_t                         size;
} ngx_http_hotline_scratch_t;


typedef struct {
    ngx_queue_t                    free;
    ngx_uint_t                     n;
    ngx_uint_t                     max;       /* kept at most */
    size_t                         size;      /* of an object */
} ngx_http_hotline_pool_t;


/*
 * A scratch buffer over this size (a read of a long queue) is mapped on
 * its own, and ngx_http_hotline_scratch_trim() gives it back to the system
 * after its use: an idle worker keeps none of it.
 */
#define NGX_HOTLINE_SCRATCH_KEEP  (256 * 1024)


/* at least size bytes, the previous contents gone; NULL: no memory */
u_char *ngx_http_hotline_scratch(ngx_http_hotline_scratch_t *sc,
    size_t size);
void ngx_http_hotline_scratch_trim(ngx_http_hotline_scratch_t *sc);
void ngx_http_hotline_scratch_free(ngx_http_hotline_scratch_t *sc);

void ngx_http_hotline_pool_init(ngx_http_hotline_pool_t *p, size_t size,
    ngx_uint_t max);
void *ngx_http_hotline_pool_get(ngx_http_hotline_pool_t *p);
void ngx_http_hotline_pool_put(ngx_http_hotline_pool_t *p, void *obj);
void ngx_http_hotline_pool_free(ngx_http_hotline_pool_t *p);

/*
 * The heap after a burst of connections (ngx_http_hotline_alloc.c): a
 * WebSocket that opens or closes says so; once they stop coming for a
 * moment, the free pages inside the heap go back to the system.
 */
void ngx_http_hotline_trim_init(ngx_cycle_t *cycle);
void ngx_http_hotline_trim_note(void);
void ngx_http_hotline_trim_exit(void);

/* a worker's own timer (not a connection's): its data is never NULL */
void ngx_http_hotline_timer_init(ngx_event_t *ev,
    ngx_event_handler_pt handler, ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_HOTLINE_ALLOC_H_INCLUDED_ */
