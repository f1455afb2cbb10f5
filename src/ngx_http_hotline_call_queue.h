
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_QUEUE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_QUEUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"


/* the queue of the call model: snapshots, ETA, gauges */
void ngx_http_hotline_queue_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf);
void ngx_http_hotline_queue_exit(void);

/*
 * A consistent snapshot of the queue, whole or only its first
 * NGX_HOTLINE_QUEUE_LIST_MAX calls; one at a time, the last asks again.
 */
void ngx_http_hotline_call_queue(ngx_http_hotline_queue_pt handler,
    void *data, ngx_uint_t full);
ngx_uint_t ngx_http_hotline_call_queue_again(void);
ngx_uint_t ngx_http_hotline_call_staffed(ngx_http_hotline_queue_t *q);
ngx_uint_t ngx_http_hotline_call_eta(ngx_http_hotline_queue_t *q,
    ngx_uint_t position, ngx_msec_t waited);

/* the waiting calls of one client, for a ban (call ids, 16 bytes each) */
typedef void (*ngx_http_hotline_from_pt)(void *data, ngx_uint_t err,
    u_char *call_ids, ngx_uint_t n);
void ngx_http_hotline_call_waiting_from(ngx_str_t *addr,
    ngx_http_hotline_from_pt handler, void *data);

/* a call by its id: its customer party, NULL if there is none */
typedef void (*ngx_http_hotline_find_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_party_t *customer);
void ngx_http_hotline_call_find(u_char *call_id,
    ngx_http_hotline_find_pt handler, void *data);

/* the latest gauges (fresh when the store answers at once) */
void ngx_http_hotline_call_gauges(ngx_http_hotline_gauges_t *g);
ngx_uint_t ngx_http_hotline_gauges_available(ngx_http_hotline_gauges_t *g);


#endif /* _NGX_HTTP_HOTLINE_CALL_QUEUE_H_INCLUDED_ */
